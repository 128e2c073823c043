// Output leaves once per event-loop turn, for every connection at once.
//
// Transports collect what is sent to a connection and write it in one
// system call. Flushing at the end of the current job (process.nextTick)
// made that one write per connection per I/O callback: in a reconnect
// storm, a subscriber whose services' owners come back one callback after
// another got one write per notification. Flushing after the poll phase
// (setImmediate) gathers everything the turn produced for a connection
// into one write, at the cost of answering after the turn's other ready
// connections were read, not before. One immediate serves every connection.

const due: (() => void)[] = [];
let scheduled = false;

/** Runs `flush` once the current event-loop turn has handled its I/O. */
export function flushAfterTurn(flush: () => void): void {
  due.push(flush);
  if (!scheduled) {
    scheduled = true;
    setImmediate(runDue);
  }
}

function runDue(): void {
  scheduled = false;
  // A flush that schedules again (it cannot today) waits for the next turn.
  const n = due.length;
  for (let i = 0; i < n; i++) due[i]!();
  due.splice(0, n);
}
