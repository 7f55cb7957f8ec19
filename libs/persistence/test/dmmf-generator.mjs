// A Prisma generator that only writes the DMMF datamodel Prisma hands it (to DMMF_OUT): the
// one public, offline way to have Prisma's own parser read schema.prisma (read-datamodel.ts).
// Protocol: JSON-RPC requests on stdin, one per line; answers on stderr.
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const reply = (id, result) => process.stderr.write(`${JSON.stringify({ jsonrpc: '2.0', id, result })}\n`);

createInterface({ input: process.stdin }).on('line', (line) => {
  const request = JSON.parse(line);
  if (request.method === 'getManifest') {
    reply(request.id, { manifest: { prettyName: 'DMMF dump', requiresEngines: [] } });
  } else if (request.method === 'generate') {
    writeFileSync(process.env.DMMF_OUT, JSON.stringify(request.params.dmmf.datamodel));
    reply(request.id, null);
  }
});
