import type { SitePlan } from './consortium-site-files';

/*
 * What a site does with the files `consortium add-site` wrote, and how it is certified. The
 * Kubernetes names mirror helm/scprivacy/templates/_helpers.tpl: the resources' prefix is the
 * release name when it contains "scprivacy" (cut to 40 characters), and a worker is
 * "<prefix>-worker-<institution>" (cut to 63).
 */

/** Where the chart mounts the worker's state volume (WORKER_STATE_DIR; worker.stateDir). */
export const WORKER_STATE_DIR = '/var/lib/scprivacy/state';

const cut = (text: string, length: number): string => text.slice(0, length).replace(/-$/, '');

/** The Helm release suggested for a site: one per institution, at most Helm's 53 characters. */
export const siteRelease = (institution: string): string => cut(`scprivacy-${institution}`, 53);

/** The site worker's Deployment in that release. */
export const siteWorkerDeployment = (institution: string): string =>
  cut(`${cut(siteRelease(institution), 40)}-worker-${institution}`, 63);

/** The commands that fetch the worker's CSR, certify it, and make the worker take its certificate. */
export function certifySteps(institution: string, namespace: string, indent: string): string[] {
  const deploy = `deploy/${siteWorkerDeployment(institution)}`;
  return [
    `${indent}At the site, take the certificate request the worker made on its first start:`,
    `${indent}  kubectl -n ${namespace} exec ${deploy} -- cat ${WORKER_STATE_DIR}/institution.csr.pem > ${institution}.csr.pem`,
    `${indent}The consortium administrator certifies it:`,
    `${indent}  scprivacy consortium certify-site --institution ${institution} --csr ${institution}.csr.pem`,
    `${indent}Then the site restarts its worker, which fetches its certificate with its token:`,
    `${indent}  kubectl -n ${namespace} rollout restart ${deploy}`,
  ];
}

export function nextSteps(plan: SitePlan, certified: boolean): string {
  const { institution, namespace, files } = plan;
  const release = siteRelease(institution);
  const lines = [
    `Next steps. Hand the folder ${plan.outDir} to the site over a secure channel: it holds the`,
    "institution's credentials, which exist nowhere else (and never commit it). At the site, in a",
    'checkout of scPrivacy (the chart is helm/scprivacy), with kubectl pointed at its cluster:',
    `  1. kubectl create namespace ${namespace}        # if it does not exist yet`,
    `     kubectl apply -f ${files.secret}`,
    ...(files.caSecret ? [`     kubectl apply -f ${files.caSecret}`] : []),
    `  2. helm install ${release} ./helm/scprivacy -n ${namespace} -f ${files.values}`,
    '     (set image.repository to where the consortium publishes its images, if not the default)',
  ];
  if (certified) {
    lines.push(
      '  3. Already certified: the worker fetches its certificate with its token when it starts. It',
      '     must start with the key the CSR was made with: put the files of the state folder where',
      `     \`--init\` ran on the worker's state volume (mounted at ${WORKER_STATE_DIR}) before the`,
      '     first start, or it makes a new key that this certificate does not match.',
    );
  } else {
    lines.push(
      '  3. Certify it (secure aggregation needs it; until then the site takes part only in',
      '     federations without it):',
      ...certifySteps(institution, namespace, '     '),
    );
  }
  return `${lines.join('\n')}\n`;
}
