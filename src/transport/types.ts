// The message-connection interface every transport provides (tcp now; tls,
// ux, uxf and utls plug in behind the same interface), so the server above
// it never knows which transport a client came over.

export interface MessageConnection {
  /** Remote address as XCM renders it, e.g. tcp:10.0.0.7:40122 (client-address). */
  readonly remoteAddress: string;
  /** User id derived from the transport (docs/semantics.md §8.1). */
  readonly user: string;
  /**
   * Seconds the transport spent on the connection before handing it over
   * (the TLS handshake), counted into the handshake deadline; absent = 0.
   */
  readonly setupSeconds?: number;
  /** Bytes (UTF-8, as sent) queued for output and not yet handed to the kernel. */
  readonly queuedBytes: number;
  /** Bytes received and held until they make up a whole message (0 where the kernel frames). */
  readonly bufferedInput: number;
  /** Called after received bytes were buffered without completing a message (memory accounting). */
  onInput: () => void;
  /** Installed by the server before any message is delivered. */
  onMessage: (payload: Buffer) => void;
  /** Called once when the connection is gone, for whatever reason. */
  onClose: (reason: string | undefined) => void;
  /** Called when queued output has drained below the transport's low-water mark. */
  onDrain: () => void;
  /** Queues one message; writes are batched per event-loop turn. */
  send(message: string): void;
  /** Stop/resume delivering messages (flow control towards a slow reader). */
  pause(): void;
  resume(): void;
  /** TCP keepalive: on for every connection, off once a v3 hello completed (docs/transports.md §8). */
  setKeepAlive(on: boolean): void;
  /** Closes the connection; onClose follows with the given reason. */
  close(reason?: string): void;
}

export interface MessageListener {
  /** The bound address, with the real port when port 0 was asked for. */
  readonly address: string;
  close(): Promise<void>;
  /**
   * Set by the server: called with the errno name (ENFILE, ENOMEM, ...) of
   * the first accept error of an episode (src/transport/accept-guard.ts).
   */
  onAcceptError?: (code: string) => void;
}

export type ConnectionHandler = (conn: MessageConnection) => void;
