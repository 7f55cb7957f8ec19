import { emitJson, jsonOnStdout, type JsonOption } from '../json-output';
import {
  adminConsortium,
  API_EXIT_CODE,
  certifyInstitution,
  ConsortiumApi,
  ConsortiumError,
  findInstitution,
} from './consortium-api';
import {
  adminToken,
  apiUrl,
  checkInstitutionName,
  institutionCsr,
  refuseTokenOption,
} from './consortium-inputs';
import { siteWorkerDeployment } from './consortium-site-steps';

export interface CertifySiteOptions {
  api?: string;
  tokenFile?: string;
  token?: string;
  consortium?: string;
  institution: string;
  csr: string;
  json?: JsonOption;
}

/** Signs a registered site's CSR with the consortium CA (the step add-site leaves for later without --csr). */
export async function certifySiteAction(opts: CertifySiteOptions): Promise<void> {
  if (opts.token !== undefined) refuseTokenOption();
  const institution = checkInstitutionName(opts.institution);
  const csrPem = await institutionCsr(opts.csr, institution);
  const api = new ConsortiumApi(apiUrl(opts.api), await adminToken(opts.tokenFile));
  const consortiumId = await adminConsortium(api, opts.consortium);
  const row = await findInstitution(api, consortiumId, institution);
  if (!row) {
    throw new ConsortiumError(
      `institution "${institution}" is not registered in consortium ${consortiumId}: add it first ` +
        '(scprivacy consortium add-site)',
      API_EXIT_CODE,
    );
  }
  if (row.status === 'revoked') {
    throw new ConsortiumError(
      `institution "${institution}" is revoked: it cannot be certified again`,
      API_EXIT_CODE,
    );
  }
  const certification = await certifyInstitution(api, row, csrPem);
  await emitJson(
    opts.json,
    JSON.stringify(
      { institution: { id: row.id, name: institution, consortiumId }, ...certification },
      null,
      2,
    ),
  );
  if (jsonOnStdout(opts.json)) return;
  process.stdout.write(
    `Certified ${institution} (certificate serial ${certification.certificateSerial ?? 'unknown'}).\n` +
      'Its worker fetches the certificate with its token when it starts: at the site, restart it, e.g.\n' +
      `  kubectl -n <namespace> rollout restart deploy/${siteWorkerDeployment(institution)}\n`,
  );
}
