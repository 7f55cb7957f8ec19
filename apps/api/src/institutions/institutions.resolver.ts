import { Args, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import type { Principal } from '../auth/principal';
import { DatasetsService } from '../datasets/datasets.service';
import { Dataset } from '../datasets/models/dataset.model';
import { certificateNotAfter } from './certificate-expiry';
import { RegisterInstitutionPayload } from './dto/register-institution.payload';
import { InstitutionActivityService } from './institution-activity.service';
import { InstitutionsService } from './institutions.service';
import { InstitutionLastRound } from './models/institution-last-round.model';
import { Institution } from './models/institution.model';
import { WorkerPresenceService } from './worker-presence.service';

@Resolver(() => Institution)
export class InstitutionsResolver {
  constructor(
    private readonly institutionsService: InstitutionsService,
    private readonly datasetsService: DatasetsService,
    private readonly activity: InstitutionActivityService,
    private readonly presence: WorkerPresenceService,
  ) {}

  @Mutation(() => RegisterInstitutionPayload, {
    description:
      "Consortium admin: registers an institution; returns its token and its worker's queue login once.",
  })
  registerInstitution(
    @CurrentPrincipal() principal: Principal,
    @Args('consortiumId', { type: () => ID }) consortiumId: string,
    @Args('name') name: string,
    @Args('displayName') displayName: string,
  ): Promise<RegisterInstitutionPayload> {
    return this.institutionsService.register(principal, consortiumId, name, displayName);
  }

  @Mutation(() => Institution, {
    description: "Consortium admin: signs the institution's CSR with the consortium CA.",
  })
  certifyInstitution(
    @CurrentPrincipal() principal: Principal,
    @Args('institutionId', { type: () => ID }) institutionId: string,
    @Args('csrPem') csrPem: string,
  ): Promise<Institution> {
    return this.institutionsService.certify(principal, institutionId, csrPem);
  }

  @Mutation(() => Institution, {
    description: 'Consortium admin: revokes the institution (tokens, queue login, certificate).',
  })
  revokeInstitution(
    @CurrentPrincipal() principal: Principal,
    @Args('institutionId', { type: () => ID }) institutionId: string,
  ): Promise<Institution> {
    return this.institutionsService.revoke(principal, institutionId);
  }

  @Query(() => [Institution], { description: "The consortium's institutions (a member: its own)." })
  institutions(
    @CurrentPrincipal() principal: Principal,
    @Args('consortiumId', { type: () => ID }) consortiumId: string,
  ): Promise<Institution[]> {
    return this.institutionsService.list(principal, consortiumId);
  }

  @Query(() => Institution)
  institution(
    @CurrentPrincipal() principal: Principal,
    @Args('id', { type: () => ID }) id: string,
  ): Promise<Institution> {
    return this.institutionsService.get(principal, id);
  }

  @ResolveField(() => [Dataset])
  datasets(@CurrentPrincipal() principal: Principal, @Parent() institution: Institution): Promise<Dataset[]> {
    return this.datasetsService.list(principal, { institutionId: institution.id });
  }

  // The fields below are computed for an institution row the caller could already read.

  @ResolveField(() => Date, {
    nullable: true,
    description: "When the institution's certificate expires (its notAfter); null without a certificate.",
  })
  certificateExpiresAt(@Parent() institution: Institution): Date | null {
    return certificateNotAfter(institution.certificatePem);
  }

  @ResolveField(() => Date, {
    nullable: true,
    description: 'When the latest round that used its update finished (see lastRound); null if none has yet.',
  })
  async lastSeenAt(@Parent() institution: Institution): Promise<Date | null> {
    return (await this.activity.activity(institution))?.lastSeenAt ?? null;
  }

  @ResolveField(() => String, {
    nullable: true,
    description: "The compute backend its worker reported in that round (e.g. 'wasm', 'cpu').",
  })
  async lastBackend(@Parent() institution: Institution): Promise<string | null> {
    return (await this.activity.activity(institution))?.lastBackend ?? null;
  }

  @ResolveField(() => InstitutionLastRound, {
    nullable: true,
    description: 'The latest round whose survivors include the institution; null if none has yet.',
  })
  async lastRound(@Parent() institution: Institution): Promise<InstitutionLastRound | null> {
    return (await this.activity.activity(institution))?.lastRound ?? null;
  }

  @ResolveField(() => Boolean, {
    nullable: true,
    description:
      "Whether a trainer worker is connected to the institution's queue now; null when Redis cannot tell (CLIENT LIST refused or no answer).",
  })
  workerOnline(@Parent() institution: Institution): Promise<boolean | null> {
    return this.presence.workerOnline(institution.name);
  }
}
