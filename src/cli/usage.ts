/** A command-line mistake: exit code 2 with this message. */
export class UsageError extends Error {}
