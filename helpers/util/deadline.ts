/**
 * A signal that aborts after a delay, for a deadline that commands started later must still see.
 *
 * Not `AbortSignal.timeout`: `AbortSignal.any` holds its sources weakly, and Node keeps a timeout
 * signal alive only through listeners on it. Between two commands nothing listens, so after a
 * garbage collection the timeout is gone and never fires (Node 20; seen: a slow host's 15 s sweep
 * ran its commands to their own timeouts, 80 s, whenever the class's floods made the CLI collect).
 * The timer here holds its controller strongly until it fires; it does not keep the process alive.
 */
export function abortAfter(ms: number, reason = 'deadline'): AbortSignal {
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error(reason)), ms).unref();
  return controller.signal;
}

/** A signal aborted `ms` after `stop` is. */
export function abortAfterSignal(stop: AbortSignal, ms: number): AbortSignal {
  const later = new AbortController();
  const start = () => setTimeout(() => later.abort(), ms).unref();
  if (stop.aborted) start();
  else stop.addEventListener('abort', start, { once: true });
  return later.signal;
}
