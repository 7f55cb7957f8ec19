import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { Queue } from 'bullmq';
import { z } from 'zod';
import {
  chooseSecureAggregation,
  isDetectedValuesPerGene,
  isDetectionFraction,
  isGenesPerCell,
  isInputDropout,
  isVariableGeneCount,
  MAX_DETECTED_VALUES_PER_GENE,
  MAX_GENES_PER_CELL,
  MAX_INPUT_DROPOUT,
  MIN_VARIABLE_GENES,
  type SecureAggregationSkipped,
} from '@fl/federation';
import type { Federation as FederationRow, Prisma, Round as RoundRow } from '@fl/persistence';
import { checkpointEveryProblem, defaultCheckpointEvery, type ControlJob } from '@fl/platform';
import { defaultThreshold } from '@fl/secure-agg';
import { assertConsortiumAdmin, assertInConsortium, consortiumPrincipal } from '../auth/access';
import { AuditService } from '../auth/audit.service';
import type { Principal } from '../auth/principal';
import { isUuid, parseInput } from '../common/validation';
import { CONTROL_QUEUE_TOKEN, PRISMA, type Db } from '../infra/tokens';
import type { StartFederationInput } from './dto/start-federation.input';
import type { Federation } from './models/federation.model';
import type { Round } from './models/round.model';
import {
  institutionValuesViewer,
  meanLoss,
  visibleRound,
  type InstitutionValuesViewer,
} from './round-visibility';
import { presetDefaults, presetProblem } from './training-presets';

/** Federation.participants (JSON): the institutions in federation order and their datasets. */
export interface Participant {
  institution: string;
  datasetIds: string[];
}

/** Federation.options (JSON). */
export interface FederationOptions {
  rounds: number;
  localSteps: number;
  learningRate: number;
  hiddenSize: number;
  embeddingSize: number;
  weighting: 'uniform' | 'numExamples';
  /** Whether the federation uses secure aggregation: false also when it was skipped (below). */
  secureAggregation: boolean;
  /** Asked for but not used: one institution has nothing to aggregate and no other party. */
  secureAggregationSkipped?: SecureAggregationSkipped;
  threshold: number;
  /** Lane width of the masked updates (secure aggregation): 16, 32 or 8. */
  secaggBits: 8 | 16 | 32;
  roundDeadlineSeconds: number;
  /** Train on types with >= 2 cells; singleton types get landmarks only (published behaviour). */
  allowSingletonTypes: boolean;
  /** Model versions kept besides the final and pinned ones: every k-th round (@fl/platform retention). */
  checkpointEvery: number;
  /**
   * Genes of largest normalised dispersion per institution (the variable-genes preset): the model
   * trains on this many times the institutions, chosen before the first round from the
   * institutions' summed gene scores; absent: every gene.
   */
  variableGenes?: number;
  /** With variableGenes: each institution's share is at most this many genes per reference cell; absent: no cap. */
  variableGenesPerCell?: number;
  /** With variableGenes: each institution's share is at most one gene per this many of its detected values; absent: no cap. */
  detectedValuesPerGene?: number;
  /** Models trained side by side (the ensemble presets); absent: 1. */
  ensembleSize?: number;
  /** Gene dropout of the local steps (a preset's); absent: none. */
  inputDropout?: number;
  /** The dropout applies only at institutions detecting this fraction of their genes; absent: all. */
  inputDropoutMinDetection?: number;
  /** The training preset that supplied the left-out rounds, localSteps and learningRate, if named. */
  preset?: string;
}

const startSchema = z
  .object({
    consortiumId: z.string(),
    name: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
    institutions: z
      .array(z.string())
      .min(1, 'name at least one institution')
      .max(255, 'at most 255 institutions')
      .refine((names) => new Set(names).size === names.length, 'an institution is listed twice'),
    datasets: z
      .array(
        z.object({
          institution: z.string(),
          datasetIds: z.array(z.string()).min(1, 'list at least one dataset'),
        }),
      )
      .nullish(),
    preset: z.string().nullish(),
    // Left out (null): the preset's value, else the published method's (presetDefaults).
    rounds: z.number().int().min(1).max(100_000).nullish(),
    localSteps: z.number().int().min(1).max(10_000).nullish(),
    learningRate: z.number().positive().max(1).nullish(),
    variableGenes: z
      .number()
      .refine(isVariableGeneCount, {
        message: `must be 0 (every gene) or a whole number of at least ${MIN_VARIABLE_GENES} genes`,
      })
      .nullish(),
    variableGenesPerCell: z
      .number()
      .refine(isGenesPerCell, {
        message: `must be 0 (no cap) or a whole number from 1 to ${MAX_GENES_PER_CELL}`,
      })
      .nullish(),
    detectedValuesPerGene: z
      .number()
      .refine(isDetectedValuesPerGene, {
        message: `must be 0 (no cap) or a whole number from 1 to ${MAX_DETECTED_VALUES_PER_GENE}`,
      })
      .nullish(),
    ensembleSize: z
      .number()
      .int('must be a whole number from 1 to 16')
      .min(1, 'must be a whole number from 1 to 16')
      .max(16, 'must be a whole number from 1 to 16')
      .nullish(),
    inputDropout: z
      .number()
      .refine(isInputDropout, { message: `must be a number from 0 (none) to ${MAX_INPUT_DROPOUT}` })
      .nullish(),
    inputDropoutMinDetection: z
      .number()
      .refine(isDetectionFraction, { message: 'must be a fraction from 0 (every institution) to 1' })
      .nullish(),
    seed: z.number().int().min(0),
    hiddenSize: z.number().int().min(1).max(100_000),
    embeddingSize: z.number().int().min(1).max(10_000),
    weighting: z.enum(['uniform', 'numExamples']),
    secureAggregation: z.boolean(),
    threshold: z.number().int().nullish(),
    secaggBits: z.union([z.literal(8), z.literal(16), z.literal(32)], {
      errorMap: () => ({ message: 'must be 8, 16 or 32' }),
    }),
    roundDeadlineSeconds: z
      .number()
      .int()
      .min(10)
      .max(7 * 24 * 3600),
    allowSingletonTypes: z.boolean(),
    checkpointEvery: z.number().nullish(),
  })
  .superRefine((i, ctx) => {
    const problem = i.preset == null ? null : presetProblem(i.preset);
    // Fatal: the defaults below (and the checks of rounds) need a usable preset.
    if (problem) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem, path: ['preset'], fatal: true });
    }
  })
  .transform((i) => {
    const defaults = presetDefaults(i.preset);
    return {
      ...i,
      rounds: i.rounds ?? defaults.rounds,
      localSteps: i.localSteps ?? defaults.localSteps,
      learningRate: i.learningRate ?? defaults.learningRate,
      variableGenes: i.variableGenes ?? defaults.variableGenes,
      variableGenesPerCell: i.variableGenesPerCell ?? defaults.variableGenesPerCell,
      detectedValuesPerGene: i.detectedValuesPerGene ?? defaults.detectedValuesPerGene,
      ensembleSize: i.ensembleSize ?? defaults.ensembleSize,
      inputDropout: i.inputDropout ?? defaults.inputDropout,
      inputDropoutMinDetection: i.inputDropoutMinDetection ?? defaults.inputDropoutMinDetection,
    };
  })
  .refine((i) => i.embeddingSize <= i.hiddenSize, {
    message: 'must not exceed hiddenSize',
    path: ['embeddingSize'],
  })
  .superRefine((i, ctx) => {
    const problem = i.checkpointEvery == null ? null : checkpointEveryProblem(i.checkpointEvery, i.rounds);
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem, path: ['checkpointEvery'] });
  });

/** BullMQ refuses ':' in custom job ids, hence dashes. */
export function controlJobId(action: ControlJob['action'], federationId: string, suffix?: string): string {
  return [action, federationId, suffix].filter(Boolean).join('-');
}

export function toFederation(row: FederationRow): Federation {
  return {
    id: row.id,
    consortiumId: row.consortiumId,
    name: row.name,
    status: row.status,
    options: row.options,
    seed: row.seed,
    participants: row.participants,
    geneCount: row.geneCount,
    currentRound: row.currentRound,
    error: row.error,
    createdAt: row.createdAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
  };
}

/** A round as stored, every institution's values included (filter with visibleRound). */
export function toRound(row: RoundRow): Round {
  return {
    ...row,
    bytesIn: Number(row.bytesIn),
    bytesOut: Number(row.bytesOut),
    // From every institution's loss, before a member's view drops the others.
    meanLoss: meanLoss(row.losses),
  };
}

/**
 * Federations: the api validates and records them and asks the aggregator (CONTROL_QUEUE) to
 * start, cancel or resume; the aggregator owns their progress (status, rounds, models).
 */
@Injectable()
export class FederationsService {
  private readonly logger = new Logger('Federations');

  constructor(
    @Inject(PRISMA) private readonly db: Db,
    @Inject(CONTROL_QUEUE_TOKEN) private readonly control: Queue<ControlJob>,
    private readonly audit: AuditService,
  ) {}

  async start(principal: Principal, raw: StartFederationInput): Promise<Federation> {
    const input = parseInput(startSchema, raw, 'federation');
    const notFound = `Consortium ${input.consortiumId} not found.`;
    if (!isUuid(input.consortiumId)) throw new NotFoundException(notFound);
    assertConsortiumAdmin(principal, input.consortiumId, notFound, 'start federations');
    const { secure, skipped } = chooseSecureAggregation(input.secureAggregation, input.institutions.length);
    const participants = await this.participants(
      input.consortiumId,
      input.institutions,
      input.datasets ?? [],
      {
        needCertificates: secure,
      },
    );
    const threshold = this.threshold(input.threshold, participants.length, secure);
    const options: FederationOptions = {
      rounds: input.rounds,
      localSteps: input.localSteps,
      learningRate: input.learningRate,
      hiddenSize: input.hiddenSize,
      embeddingSize: input.embeddingSize,
      weighting: input.weighting,
      secureAggregation: secure,
      ...(skipped && { secureAggregationSkipped: skipped }),
      threshold,
      secaggBits: input.secaggBits,
      roundDeadlineSeconds: input.roundDeadlineSeconds,
      allowSingletonTypes: input.allowSingletonTypes,
      // Stored resolved, so the aggregator, the api and the dashboard read the same k.
      checkpointEvery: input.checkpointEvery ?? defaultCheckpointEvery(input.rounds),
      ...(input.variableGenes > 0 && { variableGenes: input.variableGenes }),
      ...(input.variableGenes > 0 &&
        input.variableGenesPerCell > 0 && { variableGenesPerCell: input.variableGenesPerCell }),
      ...(input.variableGenes > 0 &&
        input.detectedValuesPerGene > 0 && { detectedValuesPerGene: input.detectedValuesPerGene }),
      ...(input.ensembleSize > 1 && { ensembleSize: input.ensembleSize }),
      ...(input.inputDropout > 0 && { inputDropout: input.inputDropout }),
      ...(input.inputDropout > 0 &&
        input.inputDropoutMinDetection > 0 && { inputDropoutMinDetection: input.inputDropoutMinDetection }),
      ...(input.preset != null && { preset: input.preset }),
    };
    const row = await this.db.$transaction(async (tx) => {
      const created = await tx.federation.create({
        data: {
          consortiumId: input.consortiumId,
          name: input.name,
          status: 'pending',
          options: options as unknown as Prisma.InputJsonObject,
          seed: input.seed,
          participants: participants as unknown as Prisma.InputJsonArray,
        },
      });
      await this.audit.record(
        principal,
        {
          action: 'federation.start',
          target: `federation:${created.id}`,
          consortiumId: input.consortiumId,
          detail: { name: input.name, institutions: input.institutions },
        },
        tx,
      );
      return created;
    });
    try {
      await this.control.add(
        'start',
        { action: 'start', federationId: row.id },
        { jobId: controlJobId('start', row.id) },
      );
    } catch (e) {
      this.logger.error(`enqueueing the start of federation ${row.id}: ${(e as Error).message}`);
      await this.db.federation.update({
        where: { id: row.id },
        data: { status: 'failed', error: 'the aggregator could not be reached (queue unavailable)' },
      });
      throw new ServiceUnavailableException(
        'The federation was recorded but the aggregator could not be reached; resume it once the queue is back.',
      );
    }
    return toFederation(row);
  }

  async cancel(principal: Principal, id: string): Promise<Federation> {
    const row = await this.getForAdmin(principal, id, 'cancel federations');
    if (row.status !== 'pending' && row.status !== 'running') {
      throw new ConflictException(`Federation "${row.name}" is ${row.status}; there is nothing to cancel.`);
    }
    return this.requestControl(principal, row, 'cancel');
  }

  async resume(principal: Principal, id: string): Promise<Federation> {
    const row = await this.getForAdmin(principal, id, 'resume federations');
    if (row.status === 'completed') {
      throw new ConflictException(`Federation "${row.name}" has completed; start a new one to train again.`);
    }
    return this.requestControl(principal, row, 'resume');
  }

  /** Federations of a consortium the caller belongs to. */
  async list(principal: Principal, consortiumId?: string | null): Promise<Federation[]> {
    const p = consortiumPrincipal(principal, 'list federations');
    if (consortiumId && consortiumId !== p.consortiumId) return [];
    const rows = await this.db.federation.findMany({
      where: { consortiumId: p.consortiumId },
      orderBy: { createdAt: 'desc' },
    });
    return rows.map(toFederation);
  }

  async get(principal: Principal, id: string): Promise<Federation> {
    return toFederation(await this.getRow(principal, id));
  }

  async rounds(
    principal: Principal,
    federationId: string,
    page: { limit: number; offset: number },
  ): Promise<Round[]> {
    await this.getRow(principal, federationId);
    const rows = await this.db.round.findMany({
      where: { federationId },
      orderBy: { number: 'asc' },
      take: page.limit,
      skip: page.offset,
    });
    const viewer = await this.institutionValuesViewer(principal);
    return rows.map((row) => visibleRound(toRound(row), viewer));
  }

  /**
   * Whose per-institution values (round losses and timings, landmark sets) the caller may see:
   * a member only its own institution's unless its consortium lets members see all.
   */
  async institutionValuesViewer(principal: Principal): Promise<InstitutionValuesViewer> {
    if (principal.kind !== 'member') return institutionValuesViewer(principal, false);
    const consortium = await this.db.consortium.findUnique({
      where: { id: principal.consortiumId },
      select: { membersSeeInstitutionRounds: true },
    });
    return institutionValuesViewer(principal, consortium?.membersSeeInstitutionRounds ?? false);
  }

  /** The federation if it belongs to the caller's consortium, else 404. */
  async getRow(principal: Principal, id: string): Promise<FederationRow> {
    const notFound = `Federation ${id} not found.`;
    const row = isUuid(id) ? await this.db.federation.findUnique({ where: { id } }) : null;
    if (!row) throw new NotFoundException(notFound);
    assertInConsortium(principal, row.consortiumId, notFound);
    return row;
  }

  private async getForAdmin(principal: Principal, id: string, action: string): Promise<FederationRow> {
    const notFound = `Federation ${id} not found.`;
    const row = isUuid(id) ? await this.db.federation.findUnique({ where: { id } }) : null;
    if (!row) throw new NotFoundException(notFound);
    assertConsortiumAdmin(principal, row.consortiumId, notFound, action);
    return row;
  }

  private async requestControl(
    principal: Principal,
    row: FederationRow,
    action: 'cancel' | 'resume',
  ): Promise<Federation> {
    await this.audit.record(principal, {
      action: `federation.${action}`,
      target: `federation:${row.id}`,
      consortiumId: row.consortiumId,
    });
    // Every request is a new job: a federation may be cancelled and resumed more than once.
    await this.control.add(
      action,
      { action, federationId: row.id },
      { jobId: controlJobId(action, row.id, String(Date.now())) },
    );
    return toFederation(row);
  }

  /**
   * Secure aggregation needs a majority of at least 2 (libs/secure-agg params; it is never chosen
   * for one institution); plain FedAvg 1..k.
   */
  private threshold(requested: number | null | undefined, k: number, secure: boolean): number {
    if (secure) {
      const t = requested ?? defaultThreshold(k);
      if (t < 2 || t > k || 2 * t <= k) {
        throw new BadRequestException(
          `threshold ${t}: with secure aggregation it must be a majority of the ${k} institutions ` +
            `(between ${Math.floor(k / 2) + 1} and ${k}, and at least 2).`,
        );
      }
      return t;
    }
    const t = requested ?? Math.floor(k / 2) + 1;
    if (t < 1 || t > k) throw new BadRequestException(`threshold ${t}: expected between 1 and ${k}.`);
    return t;
  }

  /** Checks every institution (exists, not revoked, certified when needed, has datasets). */
  private async participants(
    consortiumId: string,
    names: string[],
    chosen: { institution: string; datasetIds: string[] }[],
    { needCertificates }: { needCertificates: boolean },
  ): Promise<Participant[]> {
    const institutions = await this.db.institution.findMany({
      where: { consortiumId, name: { in: names } },
      include: { datasets: { select: { id: true }, orderBy: { createdAt: 'asc' } } },
    });
    const byName = new Map(institutions.map((i) => [i.name, i]));
    for (const c of chosen) {
      if (!names.includes(c.institution)) {
        throw new BadRequestException(
          `datasets: "${c.institution}" is not one of the federation's institutions.`,
        );
      }
    }
    return names.map((name) => {
      const institution = byName.get(name);
      if (!institution)
        throw new BadRequestException(`Institution "${name}" is not registered in this consortium.`);
      if (institution.status === 'revoked')
        throw new BadRequestException(`Institution "${name}" is revoked.`);
      if (needCertificates && institution.status !== 'certified') {
        throw new BadRequestException(
          `Institution "${name}" has no certificate yet; certify it (certifyInstitution) before a secure federation.`,
        );
      }
      const own = institution.datasets.map((d) => d.id);
      const selection = chosen.find((c) => c.institution === name)?.datasetIds;
      if (selection) {
        const unknown = selection.filter((id) => !own.includes(id));
        if (unknown.length > 0) {
          throw new BadRequestException(`Institution "${name}" has no dataset ${unknown.join(', ')}.`);
        }
        return { institution: name, datasetIds: [...new Set(selection)] };
      }
      if (own.length === 0) {
        throw new BadRequestException(
          `Institution "${name}" has no reference datasets yet; upload or register one first.`,
        );
      }
      return { institution: name, datasetIds: own };
    });
  }
}
