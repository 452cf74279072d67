/**
 * Every way a run can be told to end, ended the same way: Ctrl-C (SIGINT), SIGTERM, the terminal
 * or the ssh session closing (SIGHUP), SIGQUIT. The run's own cleanup goes on to the end (a second
 * signal does not cut it short), and the exit code is the shell's for that signal: 128 + its number.
 */
import { constants } from 'node:os';

export const ENDING_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

/** 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP, 131 for SIGQUIT. */
function exitCodeFor(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

export interface SignalTrap {
  /** The first ending signal received, if any. */
  signalled(): NodeJS.Signals | undefined;
  /** Its exit code (call only once signalled). */
  exitCode(): number;
  release(): void;
}

/** Calls `onSignal` once, at the first ending signal; later ones are taken and ignored while the
 * caller cleans up. */
export function trapSignals(onSignal: (sig: NodeJS.Signals) => void): SignalTrap {
  let got: NodeJS.Signals | undefined;
  const handler = (sig: NodeJS.Signals) => {
    if (got) return;
    got = sig;
    // a closed terminal or ssh session: writing to it fails, which must not end the cleanup
    if (sig === 'SIGHUP') for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
    onSignal(sig);
  };
  for (const s of ENDING_SIGNALS) process.on(s, handler);
  return {
    signalled: () => got,
    exitCode: () => exitCodeFor(got ?? 'SIGINT'),
    release: () => {
      for (const s of ENDING_SIGNALS) process.off(s, handler);
    },
  };
}
