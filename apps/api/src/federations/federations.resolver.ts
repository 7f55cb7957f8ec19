import { Args, ID, Mutation, Parent, Query, ResolveField, Resolver, Subscription } from '@nestjs/graphql';
import type { FederationEvent as FederationEventData } from '@fl/platform';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import type { Principal } from '../auth/principal';
import { MAX_PAGE, page, PageArgs } from '../graphql/page.args';
import { StartFederationInput } from './dto/start-federation.input';
import { FederationEventsService } from './federation-events.service';
import { FederationsService } from './federations.service';
import { FederationEvent } from './models/federation-event.model';
import { Federation } from './models/federation.model';
import { Round } from './models/round.model';

@Resolver(() => Federation)
export class FederationsResolver {
  constructor(
    private readonly federationsService: FederationsService,
    private readonly events: FederationEventsService,
  ) {}

  @Mutation(() => Federation, {
    description: 'Consortium admin: records a federation (status pending) and asks the aggregator to run it.',
  })
  startFederation(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: StartFederationInput,
  ): Promise<Federation> {
    return this.federationsService.start(principal, input);
  }

  @Mutation(() => Federation, { description: 'Consortium admin: asks the aggregator to stop a federation.' })
  cancelFederation(
    @CurrentPrincipal() principal: Principal,
    @Args('id', { type: () => ID }) id: string,
  ): Promise<Federation> {
    return this.federationsService.cancel(principal, id);
  }

  @Mutation(() => Federation, {
    description: 'Consortium admin: asks the aggregator to continue a stopped federation.',
  })
  resumeFederation(
    @CurrentPrincipal() principal: Principal,
    @Args('id', { type: () => ID }) id: string,
  ): Promise<Federation> {
    return this.federationsService.resume(principal, id);
  }

  @Query(() => [Federation], { description: "Your consortium's federations, newest first." })
  federations(
    @CurrentPrincipal() principal: Principal,
    @Args('consortiumId', { type: () => ID, nullable: true }) consortiumId?: string,
  ): Promise<Federation[]> {
    return this.federationsService.list(principal, consortiumId);
  }

  @Query(() => Federation)
  federation(
    @CurrentPrincipal() principal: Principal,
    @Args('id', { type: () => ID }) id: string,
  ): Promise<Federation> {
    return this.federationsService.get(principal, id);
  }

  @Query(() => [Round])
  rounds(
    @CurrentPrincipal() principal: Principal,
    @Args('federationId', { type: () => ID }) federationId: string,
    @Args() pageArgs: PageArgs,
  ): Promise<Round[]> {
    return this.federationsService.rounds(principal, federationId, page(pageArgs));
  }

  @ResolveField('rounds', () => [Round], {
    description: `The first ${MAX_PAGE} rounds (use rounds() to page).`,
  })
  roundsOf(@CurrentPrincipal() principal: Principal, @Parent() federation: Federation): Promise<Round[]> {
    return this.federationsService.rounds(principal, federation.id, { limit: MAX_PAGE, offset: 0 });
  }

  @Subscription(() => FederationEvent, {
    description:
      'Live progress of a federation. Authenticate with connectionParams { authorization: "Bearer <token>" }.',
    resolve: (event: FederationEventData) => event,
  })
  async federationProgress(
    @CurrentPrincipal() principal: Principal,
    @Args('federationId', { type: () => ID }) federationId: string,
  ): Promise<AsyncIterableIterator<FederationEventData>> {
    await this.federationsService.getRow(principal, federationId);
    return this.events.listen(federationId);
  }
}
