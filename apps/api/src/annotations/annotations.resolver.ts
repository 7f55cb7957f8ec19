import { Args, ID, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import type { Principal } from '../auth/principal';
import { page, PageArgs } from '../graphql/page.args';
import { AnnotationsService } from './annotations.service';
import { AnnotationJob } from './models/annotation-job.model';

@Resolver(() => AnnotationJob)
export class AnnotationsResolver {
  constructor(private readonly annotations: AnnotationsService) {}

  @Query(() => [AnnotationJob], {
    description: "A member: its institution's jobs; an admin: the consortium's.",
  })
  annotationJobs(
    @CurrentPrincipal() principal: Principal,
    @Args() pageArgs: PageArgs,
  ): Promise<AnnotationJob[]> {
    return this.annotations.list(principal, page(pageArgs));
  }

  @Query(() => AnnotationJob)
  annotationJob(
    @CurrentPrincipal() principal: Principal,
    @Args('id', { type: () => ID }) id: string,
  ): Promise<AnnotationJob> {
    return this.annotations.get(principal, id);
  }
}
