import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../scripts/local-stack/postgres';
import { FederationStatus, InstitutionStatus, Prisma, type PrismaClient, Role, RoundStatus } from './index';
import { generateToken, hashToken } from './tokens';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The error code Prisma gives a constraint violation (P2002 unique, P2003 foreign key). */
async function prismaCode(operation: Promise<unknown>): Promise<string> {
  const error = await operation.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
  return (error as Prisma.PrismaClientKnownRequestError).code;
}

describe('the Prisma client over the migrated database', () => {
  let database: TestDatabase;
  let prisma: PrismaClient;

  beforeAll(async () => {
    database = await createTestDatabase('client');
    prisma = database.prisma;
  });
  afterAll(() => database?.drop());

  function consortium(name: string) {
    return prisma.consortium.create({
      data: { name, caCertificatePem: '-----BEGIN CERTIFICATE-----', caKeySealed: Buffer.from([1, 2, 3]) },
    });
  }

  async function federationWithModels(consortiumId: string, name: string) {
    return prisma.federation.create({
      data: {
        consortiumId,
        name,
        seed: 42,
        options: { rounds: 2, secureAggregation: true },
        participants: [{ institution: 'site-a', datasets: [] }],
        rounds: { create: [{ number: 1, participants: ['site-a', 'site-b'], survivors: ['site-a'] }] },
      },
    });
  }

  it('stores a consortium, an institution, its hashed token and a dataset', async () => {
    const token = generateToken();
    const created = await prisma.consortium.create({
      data: {
        name: 'round-trip',
        caCertificatePem: 'pem',
        caKeySealed: Buffer.from('sealed'),
        institutions: {
          create: {
            name: 'site-a',
            displayName: 'Site A',
            queueUser: 'worker-site-a',
            datasets: {
              create: {
                name: 'pbmc',
                fileName: 'pbmc.h5ad',
                sha256: 'ab'.repeat(32),
                sizeBytes: 2n ** 40n,
                cells: 2638,
                genes: 1838,
                typeCounts: { 'B cell': 344, 'T cell': 1151 },
              },
            },
          },
        },
      },
      include: { institutions: true },
    });
    const institution = created.institutions[0];
    await prisma.accessToken.create({
      data: {
        consortiumId: created.id,
        institutionId: institution.id,
        role: Role.member,
        tokenHash: hashToken(token),
      },
    });

    // Ids come from the client (uuid()), timestamps and defaults from the database.
    expect(created.id).toMatch(UUID);
    expect(created.createdAt).toBeInstanceOf(Date);
    expect(Buffer.from(created.caKeySealed).toString()).toBe('sealed');
    expect(institution.status).toBe(InstitutionStatus.registered);

    const found = await prisma.accessToken.findUnique({
      where: { tokenHash: hashToken(token) },
      include: { institution: { include: { datasets: true } } },
    });
    expect(found).toMatchObject({
      role: 'member',
      label: '',
      revokedAt: null,
      institution: { name: 'site-a' },
    });
    expect(found?.tokenHash).not.toContain(token.slice(4));
    expect(found?.institution?.datasets).toEqual([
      expect.objectContaining({
        name: 'pbmc',
        location: 'upload',
        sizeBytes: 1099511627776n,
        typeCounts: { 'B cell': 344, 'T cell': 1151 },
      }),
    ]);
  });

  it('stores a federation, its rounds and a lineage of model versions', async () => {
    const { id: consortiumId } = await consortium('lineage');
    const federation = await federationWithModels(consortiumId, 'first');
    const v1 = await prisma.modelVersion.create({
      data: {
        federationId: federation.id,
        round: 1,
        objectKey: 'models/1',
        sha256: '1'.repeat(64),
        sizeBytes: 123n,
        backend: 'cpu',
        manifest: { hiddenSize: 64 },
      },
    });
    const v2 = await prisma.modelVersion.create({
      data: {
        federationId: federation.id,
        round: 2,
        parentId: v1.id,
        objectKey: 'models/2',
        sha256: '2'.repeat(64),
        sizeBytes: 456n,
        backend: 'wasm',
        manifest: {},
        landmarkSets: {
          create: {
            institution: '*',
            objectKey: 'landmarks/2',
            sha256: '3'.repeat(64),
            types: ['B', 'T'],
            cellCounts: [3, 4],
          },
        },
      },
    });
    await prisma.auditLog.create({
      data: {
        consortiumId,
        actor: 'aggregator',
        action: 'federation.start',
        target: `federation:${federation.id}`,
      },
    });

    const loaded = await prisma.federation.findUniqueOrThrow({
      where: { id: federation.id },
      include: {
        rounds: true,
        modelVersions: { include: { parent: true, children: true, landmarkSets: true } },
      },
    });
    expect(loaded).toMatchObject({
      status: FederationStatus.pending,
      currentRound: 0,
      options: { rounds: 2, secureAggregation: true },
    });
    expect(loaded.rounds).toEqual([
      expect.objectContaining({
        number: 1,
        status: RoundStatus.training,
        participants: ['site-a', 'site-b'],
        survivors: ['site-a'],
        dropouts: [],
        losses: {},
        bytesIn: 0n,
      }),
    ]);
    const byRound = new Map(loaded.modelVersions.map((version) => [version.round, version]));
    expect(byRound.get(1)?.children.map((child) => child.id)).toEqual([v2.id]);
    expect(byRound.get(2)).toMatchObject({ parent: { id: v1.id }, source: 'federation' });
    expect(byRound.get(2)?.landmarkSets).toEqual([
      expect.objectContaining({ types: ['B', 'T'], cellCounts: [3, 4] }),
    ]);

    const [entry] = await prisma.auditLog.findMany({ where: { consortiumId } });
    expect(typeof entry.id).toBe('bigint');
    expect(entry.detail).toEqual({});
  });

  it('enforces the unique constraints', async () => {
    const a = await consortium('unique-a');
    const b = await consortium('unique-b');
    expect(await prismaCode(consortium('unique-a'))).toBe('P2002');

    const institution = { name: 'unique-site', displayName: 'Site', queueUser: 'q' };
    await prisma.institution.create({ data: { ...institution, consortiumId: a.id } });
    expect(
      await prismaCode(prisma.institution.create({ data: { ...institution, consortiumId: a.id } })),
    ).toBe('P2002');
    // Names are unique on the whole platform (the queue, Redis user and storage folder are named
    // after the name alone), so another consortium cannot take it either.
    expect(
      await prismaCode(prisma.institution.create({ data: { ...institution, consortiumId: b.id } })),
    ).toBe('P2002');
    await prisma.institution.create({ data: { ...institution, name: 'unique-site-b', consortiumId: b.id } });

    const tokenHash = hashToken(generateToken());
    await prisma.accessToken.create({ data: { consortiumId: a.id, role: Role.admin, tokenHash } });
    expect(
      await prismaCode(
        prisma.accessToken.create({ data: { consortiumId: b.id, role: Role.admin, tokenHash } }),
      ),
    ).toBe('P2002');

    const federation = await federationWithModels(a.id, 'rounds');
    expect(await prismaCode(prisma.round.create({ data: { federationId: federation.id, number: 1 } }))).toBe(
      'P2002',
    );
  });

  it('deletes a consortium with everything that belongs to it, and nothing else', async () => {
    const doomed = await consortium('doomed');
    const kept = await consortium('kept');
    for (const { id, name } of [doomed, kept]) {
      const site = await prisma.institution.create({
        data: {
          consortiumId: id,
          // Institution names are unique on the whole platform.
          name: `site-${name}`,
          displayName: 'Site',
          queueUser: 'q',
          tokens: { create: { consortiumId: id, role: Role.member, tokenHash: hashToken(generateToken()) } },
          datasets: {
            create: {
              name: 'd',
              fileName: 'd.h5ad',
              sha256: 's',
              sizeBytes: 1n,
              cells: 1,
              genes: 1,
              typeCounts: {},
            },
          },
        },
      });
      const federation = await federationWithModels(id, 'f');
      const model = await prisma.modelVersion.create({
        data: {
          federationId: federation.id,
          round: 1,
          objectKey: 'k',
          sha256: 's',
          sizeBytes: 1n,
          backend: 'cpu',
          manifest: {},
          landmarkSets: {
            create: { institution: 'site', objectKey: 'k', sha256: 's', types: [], cellCounts: [] },
          },
        },
      });
      await prisma.annotationJob.create({
        data: {
          institutionId: site.id,
          consortiumId: id,
          modelVersionId: model.id,
          inputFileName: 'q.h5ad',
          inputKey: 'k',
          inputSha256: 's',
        },
      });
      await prisma.auditLog.create({ data: { consortiumId: id, actor: 'a', action: 'b', target: 'c' } });
    }

    await prisma.consortium.delete({ where: { id: doomed.id } });

    const counts = (consortiumId: string) =>
      Promise.all([
        prisma.institution.count({ where: { consortiumId } }),
        prisma.accessToken.count({ where: { consortiumId } }),
        prisma.dataset.count({ where: { institution: { consortiumId } } }),
        prisma.federation.count({ where: { consortiumId } }),
        prisma.round.count({ where: { federation: { consortiumId } } }),
        prisma.modelVersion.count({ where: { federation: { consortiumId } } }),
        prisma.landmarkSet.count({ where: { modelVersion: { federation: { consortiumId } } } }),
        prisma.annotationJob.count({ where: { consortiumId } }),
        prisma.auditLog.count({ where: { consortiumId } }),
      ]);
    expect(await counts(doomed.id)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(await counts(kept.id)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('keeps a model version whose parent is deleted, and protects one with annotation jobs', async () => {
    const { id: consortiumId } = await consortium('lineage-delete');
    const federation = await federationWithModels(consortiumId, 'f');
    const model = { objectKey: 'k', sha256: 's', sizeBytes: 1n, backend: 'cpu', manifest: {} };
    const parent = await prisma.modelVersion.create({
      data: { ...model, federationId: federation.id, round: 1 },
    });
    const child = await prisma.modelVersion.create({
      data: { ...model, federationId: federation.id, round: 2, parentId: parent.id },
    });
    await prisma.modelVersion.delete({ where: { id: parent.id } });
    expect(await prisma.modelVersion.findUnique({ where: { id: child.id } })).toMatchObject({
      parentId: null,
    });

    await prisma.annotationJob.create({
      data: { consortiumId, modelVersionId: child.id, inputFileName: 'q', inputKey: 'k', inputSha256: 's' },
    });
    expect(await prismaCode(prisma.modelVersion.delete({ where: { id: child.id } }))).toBe('P2003');
  });

  // Known schema problem (reported to the lead): AnnotationJob.consortiumId is not a relation, so
  // an admin's job (institutionId null) is not deleted with its consortium, and its RESTRICT
  // reference to the model version blocks the cascade. Passes once schema.prisma is fixed.
  it('deletes a consortium whose admin submitted an annotation job', async () => {
    const { id: consortiumId } = await consortium('admin-job');
    const federation = await federationWithModels(consortiumId, 'f');
    const model = await prisma.modelVersion.create({
      data: {
        federationId: federation.id,
        round: 1,
        objectKey: 'k',
        sha256: 's',
        sizeBytes: 1n,
        backend: 'cpu',
        manifest: {},
      },
    });
    await prisma.annotationJob.create({
      data: { consortiumId, modelVersionId: model.id, inputFileName: 'q', inputKey: 'k', inputSha256: 's' },
    });
    await prisma.consortium.delete({ where: { id: consortiumId } });
    expect(await prisma.annotationJob.count({ where: { consortiumId } })).toBe(0);
  });
});
