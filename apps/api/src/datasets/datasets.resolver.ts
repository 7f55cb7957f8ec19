import { Args, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import type { Principal } from '../auth/principal';
import { DatasetsService } from './datasets.service';
import { Dataset } from './models/dataset.model';

@Resolver(() => Dataset)
export class DatasetsResolver {
  constructor(private readonly datasetsService: DatasetsService) {}

  @Query(() => [Dataset], {
    description: "A member: its institution's datasets; an admin: the consortium's.",
  })
  datasets(
    @CurrentPrincipal() principal: Principal,
    @Args('institution', { nullable: true, description: 'only this institution (by name)' })
    institution?: string,
  ): Promise<Dataset[]> {
    return this.datasetsService.list(principal, { institutionName: institution ?? undefined });
  }
}
