import { InputError } from '@fl/formats';
import { emitJson, jsonOnStdout, type JsonOption } from '../json-output';
import {
  adminConsortium,
  API_EXIT_CODE,
  ConsortiumApi,
  ConsortiumError,
  findInstitution,
} from './consortium-api';
import { adminToken, apiUrl, checkInstitutionName, refuseTokenOption } from './consortium-inputs';

export interface RevokeSiteOptions {
  api?: string;
  tokenFile?: string;
  token?: string;
  consortium?: string;
  institution: string;
  yes?: boolean;
  json?: JsonOption;
}

/**
 * Revokes a site: its tokens, its Redis queue user (its worker is disconnected at once) and its
 * certificate. Permanent: the name stays taken. Asks for --yes, as the step cannot be undone.
 */
export async function revokeSiteAction(opts: RevokeSiteOptions): Promise<void> {
  if (opts.token !== undefined) refuseTokenOption();
  const institution = checkInstitutionName(opts.institution);
  if (!opts.yes) {
    throw new InputError(
      `revoking ${institution} cannot be undone (its tokens, queue login and certificate end, and the ` +
        'name stays taken): add --yes to confirm',
    );
  }
  const api = new ConsortiumApi(apiUrl(opts.api), await adminToken(opts.tokenFile));
  const consortiumId = await adminConsortium(api, opts.consortium);
  const row = await findInstitution(api, consortiumId, institution);
  if (!row) {
    throw new ConsortiumError(
      `institution "${institution}" is not registered in consortium ${consortiumId}`,
      API_EXIT_CODE,
    );
  }
  if (row.status === 'revoked') {
    throw new ConsortiumError(`institution "${institution}" is revoked already`, API_EXIT_CODE);
  }
  const { revokeInstitution } = await api.call<{ revokeInstitution: { id: string; status: string } }>(
    `revoking ${institution}`,
    'mutation($i: ID!) { revokeInstitution(institutionId: $i) { id status } }',
    { i: row.id },
  );
  await emitJson(
    opts.json,
    JSON.stringify({ institution: { name: institution, ...revokeInstitution } }, null, 2),
  );
  if (jsonOnStdout(opts.json)) return;
  process.stdout.write(
    `Revoked ${institution}: its tokens no longer work, its worker was disconnected from Redis and its ` +
      'certificate is no longer accepted in secure aggregation.\n' +
      'At the site, the release can be uninstalled (helm uninstall); its state volume, which holds the ' +
      "institution's private key, is kept until the site deletes it.\n",
  );
}
