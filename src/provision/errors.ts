/**
 * A provisioning request that cannot be carried out as asked (an existing domain or address, a missing
 * domain, an invalid name, a limit reached): nothing was written. The message is one line a help desk can
 * act on; the CLI prints it and exits with code 2.
 */
export class ProvisionError extends Error {
  override readonly name = 'ProvisionError';
}
