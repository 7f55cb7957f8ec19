import { randomBytes } from 'node:crypto';
import { InputError } from '@fl/formats';
import { emitJson, jsonOnStdout, type JsonOption } from '../json-output';
import { Reporter } from '../reporter';
import {
  adminConsortium,
  ApiRefusal,
  certifyInstitution,
  ConsortiumApi,
  ConsortiumError,
  registerInstitution,
  type Registration,
} from './consortium-api';
import {
  adminToken,
  apiUrl,
  caBundle,
  checkInstitutionName,
  httpUrl,
  institutionCsr,
  isLoopback,
  keyPassphrase,
  refuseTokenOption,
} from './consortium-inputs';
import {
  checkSiteOutputs,
  planSiteFiles,
  renderCaSecret,
  renderSecret,
  renderValues,
  writeSiteFiles,
  type SiteFile,
  type SitePlan,
} from './consortium-site-files';
import { nextSteps } from './consortium-site-steps';

export interface AddSiteOptions {
  api?: string;
  tokenFile?: string;
  token?: string;
  consortium?: string;
  institution: string;
  displayName?: string;
  redisHost: string;
  redisPort: number;
  redisInsecure: boolean;
  allowInsecureApi: boolean;
  s3Port: number;
  siteApiUrl?: string;
  csr?: string;
  keyPassphraseFile?: string;
  redisCa?: string;
  extraCa?: string;
  namespace: string;
  out?: string;
  force: boolean;
  json?: JsonOption;
}

/** Everything add-site needs, read and checked before the API is asked anything. */
interface SiteInputs {
  institution: string;
  displayName: string;
  api: string;
  siteApiUrl: string;
  csrPem?: string;
  keyPassphrase: string;
  redisCa?: string;
  extraCa?: string;
  plan: SitePlan;
  token: string;
}

async function readInputs(opts: AddSiteOptions): Promise<SiteInputs> {
  if (opts.token !== undefined) refuseTokenOption();
  const institution = checkInstitutionName(opts.institution);
  const displayName = (opts.displayName ?? institution).trim();
  if (!displayName || displayName.length > 200) {
    throw new InputError('--display-name: expected 1 to 200 characters');
  }
  const api = apiUrl(opts.api);
  const siteApiUrl = opts.siteApiUrl !== undefined ? httpUrl('--site-api-url', opts.siteApiUrl) : api;
  if (new URL(siteApiUrl).protocol !== 'https:' && !opts.allowInsecureApi) {
    // The site's token travels with every call: over the internet only with TLS. The chart's
    // site mode refuses http:// the same way (site.allowInsecureApi).
    throw new InputError(
      `${opts.siteApiUrl !== undefined ? '--site-api-url' : '--api'} ${siteApiUrl}: a site calls the API with its ` +
        'token, so expected https://; give --site-api-url with the HTTPS address sites reach, or ' +
        '--allow-insecure-api for a trial where the API has no TLS',
    );
  }
  if (opts.redisInsecure && opts.redisCa !== undefined) {
    throw new InputError(
      '--redis-ca is the CA of Redis over TLS, which --redis-insecure turns off: give one or the other',
    );
  }
  if (opts.csr !== undefined && opts.keyPassphraseFile === undefined) {
    // The key behind the CSR is encrypted with the passphrase --init ran with; a new one in the
    // Secret would leave the worker unable to open its own key.
    throw new InputError(
      '--csr needs --key-passphrase-file: the Secret must carry the WORKER_KEY_PASSPHRASE the key was made ' +
        'with (at --init). Or add the site without --csr: its worker makes its key on first start with the ' +
        'generated passphrase, and `scprivacy consortium certify-site` certifies it afterwards',
    );
  }
  const csrPem = opts.csr !== undefined ? await institutionCsr(opts.csr, institution) : undefined;
  const passphrase =
    opts.keyPassphraseFile !== undefined
      ? await keyPassphrase(opts.keyPassphraseFile)
      : randomBytes(32).toString('base64url');
  const redisCa = opts.redisCa !== undefined ? await caBundle('--redis-ca', opts.redisCa) : undefined;
  const extraCa = opts.extraCa !== undefined ? await caBundle('--extra-ca', opts.extraCa) : undefined;
  const plan = planSiteFiles({
    institution,
    namespace: opts.namespace,
    outDir: opts.out ?? `site-${institution}`,
    withCa: redisCa !== undefined || extraCa !== undefined,
  });
  await checkSiteOutputs(plan, opts.force);
  const token = await adminToken(opts.tokenFile);
  return {
    institution,
    displayName,
    api,
    siteApiUrl,
    csrPem,
    keyPassphrase: passphrase,
    redisCa,
    extraCa,
    plan,
    token,
  };
}

/** The files of the site, from its registration (the only time its credentials are known). */
function siteFiles(opts: AddSiteOptions, inputs: SiteInputs, reg: Registration): SiteFile[] {
  const scheme = opts.redisInsecure ? 'redis' : 'rediss';
  const login = `${encodeURIComponent(reg.queueUsername)}:${encodeURIComponent(reg.queuePassword)}`;
  const workerRedisUrl = `${scheme}://${login}@${opts.redisHost}:${opts.redisPort}`;
  const site = new URL(inputs.siteApiUrl);
  const files: SiteFile[] = [
    {
      path: inputs.plan.files.secret,
      content: renderSecret(inputs.plan, {
        workerRedisUrl,
        apiToken: reg.token,
        keyPassphrase: inputs.keyPassphrase,
      }),
      mode: 0o600,
    },
  ];
  if (inputs.plan.files.caSecret) {
    files.push({
      path: inputs.plan.files.caSecret,
      content: renderCaSecret(inputs.plan, { redisCa: inputs.redisCa, extraCa: inputs.extraCa }),
      mode: 0o600,
    });
  }
  files.push({
    path: inputs.plan.files.values,
    content: renderValues(inputs.plan, {
      apiUrl: inputs.siteApiUrl,
      allowInsecureApi: new URL(inputs.siteApiUrl).protocol !== 'https:',
      redisPort: opts.redisPort,
      s3Port: opts.s3Port,
      apiPort: Number(site.port) || (site.protocol === 'https:' ? 443 : 80),
      redisCa: inputs.redisCa !== undefined,
      extraCa: inputs.extraCa !== undefined,
    }),
    mode: 0o644,
  });
  return files;
}

export async function addSiteAction(opts: AddSiteOptions): Promise<void> {
  const toStdout = jsonOnStdout(opts.json);
  const reporter = new Reporter(toStdout);
  const inputs = await readInputs(opts);
  const { institution, plan } = inputs;
  if (isLoopback(inputs.siteApiUrl)) {
    reporter.warn(
      `the site's worker will call the API at ${inputs.siteApiUrl}, a loopback address of its own machine; ` +
        'give --site-api-url with the address sites reach the API at',
    );
  }
  const api = new ConsortiumApi(inputs.api, inputs.token);
  const consortiumId = await adminConsortium(api, opts.consortium);

  let reg: Registration;
  try {
    reg = await registerInstitution(api, consortiumId, institution, inputs.displayName);
  } catch (e) {
    if (e instanceof ApiRefusal && e.code === 'CONFLICT') {
      throw new ConsortiumError(
        `institution "${institution}" is already registered (names are unique on the whole platform, ` +
          'revoked institutions included); nothing was written. Choose another --institution',
        e.exitCode,
      );
    }
    throw e;
  }
  const { id } = reg.institution;
  try {
    await writeSiteFiles(plan.outDir, siteFiles(opts, inputs, reg), opts.force);
  } catch (e) {
    throw new ConsortiumError(
      `institution "${institution}" IS registered (id ${id}), but its files could not be written in ` +
        `${plan.outDir} (${(e as Error).message}). Its token and queue password were shown only to this ` +
        'command and are lost. To recover: revoke it (GraphQL, as the administrator: mutation { ' +
        `revokeInstitution(institutionId: "${id}") { status } }), then add the site again under another ` +
        `name (a revoked name stays taken), with an --out that can be written`,
      1,
    );
  }
  reporter.info(`Registered ${institution} in consortium ${consortiumId} (institution id ${id}).`);

  let status = reg.institution.status;
  if (inputs.csrPem !== undefined) {
    try {
      ({ status } = await certifyInstitution(api, reg.institution, inputs.csrPem));
    } catch (e) {
      throw new ConsortiumError(
        `institution "${institution}" is registered (id ${id}) and its files are written in ${plan.outDir}, ` +
          `but certifying its CSR failed: ${(e as Error).message}. Certify it later with\n` +
          `  scprivacy consortium certify-site --institution ${institution} --csr <file>`,
        1,
      );
    }
    reporter.info(`Certified ${institution}'s certificate request (${opts.csr}).`);
  }
  const certified = status === 'certified';

  await emitJson(
    opts.json,
    JSON.stringify(
      {
        institution: { id, name: institution, consortiumId, status },
        certified,
        namespace: plan.namespace,
        secretName: plan.secretName,
        caSecretName: plan.caSecretName ?? null,
        outDir: plan.outDir,
        files: plan.files,
      },
      null,
      2,
    ),
  );
  if (toStdout) return;
  const written = [plan.files.secret, plan.files.caSecret, plan.files.values].filter(Boolean).join(', ');
  process.stdout.write(
    `Site ${institution} added: registered${certified ? ' and certified' : ''}; wrote ${written}.\n\n` +
      nextSteps(plan, certified),
  );
}
