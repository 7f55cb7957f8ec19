import { Args, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import type { Principal } from '../auth/principal';
import { DatasetsService } from '../datasets/datasets.service';
import { Dataset } from '../datasets/models/dataset.model';
import { RegisterInstitutionPayload } from './dto/register-institution.payload';
import { InstitutionsService } from './institutions.service';
import { Institution } from './models/institution.model';

@Resolver(() => Institution)
export class InstitutionsResolver {
  constructor(
    private readonly institutionsService: InstitutionsService,
    private readonly datasetsService: DatasetsService,
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
}
