// What other features use of the runs feature: a run's status, times and words.
export { STATUS, TRIGGER, MODE, isFinal, formatDuration, formatTime, runDurationMs } from "./logic";
export type { Run, RunStatus, Trigger } from "./logic";
