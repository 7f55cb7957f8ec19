import { Args, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import type { Principal } from '../auth/principal';
import { FederationsService } from '../federations/federations.service';
import { Federation } from '../federations/models/federation.model';
import { InstitutionsService } from '../institutions/institutions.service';
import { Institution } from '../institutions/models/institution.model';
import { ConsortiaService } from './consortia.service';
import { CreateConsortiumPayload } from './dto/create-consortium.payload';
import { Consortium } from './models/consortium.model';

@Resolver(() => Consortium)
export class ConsortiaResolver {
  constructor(
    private readonly consortiaService: ConsortiaService,
    private readonly institutionsService: InstitutionsService,
    private readonly federationsService: FederationsService,
  ) {}

  @Mutation(() => CreateConsortiumPayload, {
    description: 'Platform operator: a new consortium, its certificate authority and first admin token.',
  })
  createConsortium(
    @CurrentPrincipal() principal: Principal,
    @Args('name') name: string,
  ): Promise<CreateConsortiumPayload> {
    return this.consortiaService.create(principal, name);
  }

  @Mutation(() => Consortium, {
    description:
      "Consortium admin: changes the consortium's settings. membersSeeInstitutionRounds: whether members see every institution's round losses, timings and landmark sets, or only their own.",
  })
  updateConsortiumSettings(
    @CurrentPrincipal() principal: Principal,
    @Args('consortiumId', { type: () => ID }) consortiumId: string,
    @Args('membersSeeInstitutionRounds') membersSeeInstitutionRounds: boolean,
  ): Promise<Consortium> {
    return this.consortiaService.updateSettings(principal, consortiumId, { membersSeeInstitutionRounds });
  }

  @Query(() => [Consortium], { description: 'Your consortium (the operator: all of them).' })
  consortia(@CurrentPrincipal() principal: Principal): Promise<Consortium[]> {
    return this.consortiaService.list(principal);
  }

  @Query(() => Consortium)
  consortium(
    @CurrentPrincipal() principal: Principal,
    @Args('id', { type: () => ID }) id: string,
  ): Promise<Consortium> {
    return this.consortiaService.get(principal, id);
  }

  @ResolveField(() => [Institution], { description: 'Institutions you may see (a member: its own).' })
  institutions(
    @CurrentPrincipal() principal: Principal,
    @Parent() consortium: Consortium,
  ): Promise<Institution[]> {
    return this.institutionsService.list(principal, consortium.id);
  }

  @ResolveField(() => [Federation])
  federations(
    @CurrentPrincipal() principal: Principal,
    @Parent() consortium: Consortium,
  ): Promise<Federation[]> {
    return this.federationsService.list(principal, consortium.id);
  }
}
