import { BackendUnavailableError, checkBackendPackage, type BackendPreference } from '@fl/engine';
import { InputError } from '@fl/formats';

/**
 * `--backend` names a backend whose optional package may not be installed: refuse it before
 * any data is read or worker thread started, as an input mistake saying what to install.
 */
export async function checkBackendOption(backend: string | undefined): Promise<void> {
  if (backend === undefined) return;
  try {
    await checkBackendPackage(backend as BackendPreference);
  } catch (err) {
    if (err instanceof BackendUnavailableError) throw new InputError(`--backend ${backend}: ${err.message}`);
    throw err;
  }
}
