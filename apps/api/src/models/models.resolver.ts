import { Args, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import type { Principal } from '../auth/principal';
import { Federation } from '../federations/models/federation.model';
import { page, PageArgs } from '../graphql/page.args';
import { ModelVersionsService } from './model-versions.service';
import { LandmarkSet } from './models/landmark-set.model';
import { ModelVersion } from './models/model-version.model';

@Resolver(() => ModelVersion)
export class ModelVersionsResolver {
  constructor(private readonly models: ModelVersionsService) {}

  @Query(() => [ModelVersion], {
    description: "Your consortium's model versions (a federation's, or imported).",
  })
  modelVersions(
    @CurrentPrincipal() principal: Principal,
    @Args('federationId', { type: () => ID, nullable: true }) federationId: string | null,
    @Args() pageArgs: PageArgs,
  ): Promise<ModelVersion[]> {
    return this.models.list(principal, { federationId }, page(pageArgs));
  }

  @Query(() => ModelVersion)
  modelVersion(
    @CurrentPrincipal() principal: Principal,
    @Args('id', { type: () => ID }) id: string,
  ): Promise<ModelVersion> {
    return this.models.get(principal, id);
  }

  @Mutation(() => ModelVersion, {
    description:
      'Consortium admin: pins (pinned: true) a model version so that retention never deletes it, or unpins it (deleted when the next round completes unless it is the final model, a checkpoint or the latest round).',
  })
  pinModelVersion(
    @CurrentPrincipal() principal: Principal,
    @Args('id', { type: () => ID }) id: string,
    @Args('pinned') pinned: boolean,
  ): Promise<ModelVersion> {
    return this.models.pin(principal, id, pinned);
  }

  @Query(() => [LandmarkSet], { description: "A model version's landmark sets, in institution order." })
  landmarkSets(
    @CurrentPrincipal() principal: Principal,
    @Args('modelVersionId', { type: () => ID }) modelVersionId: string,
  ): Promise<LandmarkSet[]> {
    return this.models.landmarkSets(principal, modelVersionId);
  }

  @ResolveField('landmarkSets', () => [LandmarkSet])
  landmarkSetsOf(
    @CurrentPrincipal() principal: Principal,
    @Parent() version: ModelVersion,
  ): Promise<LandmarkSet[]> {
    return this.models.landmarkSets(principal, version.id);
  }
}

/** Federation fields served by the models module (which depends on federations, not the reverse). */
@Resolver(() => Federation)
export class FederationModelsResolver {
  constructor(private readonly models: ModelVersionsService) {}

  @ResolveField(() => [ModelVersion])
  modelVersions(
    @CurrentPrincipal() principal: Principal,
    @Parent() federation: Federation,
  ): Promise<ModelVersion[]> {
    return this.models.ofFederation(principal, federation.id);
  }

  @ResolveField(() => [LandmarkSet])
  landmarkSets(
    @CurrentPrincipal() principal: Principal,
    @Parent() federation: Federation,
  ): Promise<LandmarkSet[]> {
    return this.models.landmarkSetsOfFederation(principal, federation.id);
  }
}
