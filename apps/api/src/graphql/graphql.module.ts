import { Module } from '@nestjs/common';
import { JSONScalar } from './json.scalar';

/** Schema-wide pieces: the JSON scalar. */
@Module({ providers: [JSONScalar] })
export class GraphqlSupportModule {}
