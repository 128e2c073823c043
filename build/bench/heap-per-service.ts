// Heap bytes per published service in the pure core, measured with
// --expose-gc: the real input path (UTF-8 bytes -> parseJson ->
// validateMessage -> decodeProps -> Directory.publish), with and without
// a match-all subscriber (which makes every service's props serialized
// for a notification). Prints one JSON object on stdout.
//
// Compiled and run by build/bench.mjs: node --expose-gc heap-per-service.js <count>

import type { Clock } from '../../src/core/clock';
import { Directory } from '../../src/core/directory';
import { decodeUtf8, parseJson } from '../../src/protocol/json';
import type { JsonObject } from '../../src/protocol/json';
import { Session } from '../../src/core/session';
import { decodeProps, validateMessage } from '../../src/protocol/schema';

declare const gc: () => void;

const USER = 'bench';

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

function publishMessage(i: number): Buffer {
  const id = 1_000_000_007 * (i + 1);
  return Buffer.from(`{"ta-cmd":"publish","ta-id":${i + 10},"msg-type":"request","service-id":${id},"generation":0,`
    + `"service-props":{"name":["service-${i}"],"addr":["tls:10.10.10.10:4711"],"color":["green"]},"ttl":30}`);
}

function measure(count: number, subscriber: boolean): number {
  // Time does not pass: nothing may expire while the heap is measured.
  const clock: Clock = { now: () => 1000, wall: () => 1_700_001_000 };
  const directory = new Directory(clock);
  let sent = 0;
  const publisher = new Session(1, 'tcp:127.0.0.1:1', USER, clock.wall(), clock.now(), () => { sent++; });
  publisher.clientId = 1n;
  publisher.version = 3;
  directory.register(publisher, 1n);
  if (subscriber) {
    const watcher = new Session(2, 'tcp:127.0.0.1:2', USER, clock.wall(), clock.now(), () => { sent++; });
    watcher.clientId = 2n;
    watcher.version = 3;
    directory.register(watcher, 2n);
    directory.subscribe(watcher, 1n, 1n, null, undefined);
  }
  const messages: Buffer[] = [];
  for (let i = 0; i < count; i++) messages.push(publishMessage(i));
  const before = heapAfterGc();
  for (const bytes of messages) {
    const msg = validateMessage(parseJson(decodeUtf8(bytes)), 3, 'to-server');
    const f = msg.fields;
    const reason = directory.publish(publisher, f['service-id'] as bigint, f['generation'] as bigint,
      decodeProps(f['service-props'] as JsonObject), f['ttl'] as bigint);
    if (reason) throw new Error(reason);
  }
  const after = heapAfterGc();
  if (directory.services.size !== count) throw new Error('not all published');
  // Keep the directory and the inputs alive until after the measurement.
  if (sent < 0 || messages.length !== count) throw new Error('unreachable');
  return (after - before) / count;
}

const count = Number(process.argv[2] ?? 100_000);
const plain = measure(count, false);
const notified = measure(count, true);
process.stdout.write(JSON.stringify({ services: count, bytesPerService: plain, bytesPerServiceNotified: notified }) + '\n');
