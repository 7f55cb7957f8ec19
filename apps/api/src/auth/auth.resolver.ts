import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { CreateAccessTokenInput, CreateAccessTokenPayload } from './dto/create-access-token.input';
import { AccessTokensService } from './access-tokens.service';
import { CurrentPrincipal } from './current-principal.decorator';
import { AccessToken } from './models/access-token.model';
import { Me } from './models/me.model';
import type { Principal } from './principal';

@Resolver()
export class AuthResolver {
  constructor(private readonly tokens: AccessTokensService) {}

  @Query(() => Me)
  me(@CurrentPrincipal() principal: Principal): Me {
    return {
      kind: principal.kind,
      consortiumId: principal.kind === 'operator' ? null : principal.consortiumId,
      institutionId: principal.kind === 'member' ? principal.institutionId : null,
      institutionName: principal.kind === 'member' ? principal.institutionName : null,
      tokenId: principal.kind === 'operator' ? null : principal.tokenId,
    };
  }

  @Mutation(() => CreateAccessTokenPayload, {
    description: 'Consortium admin (or operator): a new API token.',
  })
  createAccessToken(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: CreateAccessTokenInput,
  ): Promise<CreateAccessTokenPayload> {
    return this.tokens.create(principal, input);
  }

  @Mutation(() => AccessToken)
  revokeAccessToken(
    @CurrentPrincipal() principal: Principal,
    @Args('id', { type: () => ID }) id: string,
  ): Promise<AccessToken> {
    return this.tokens.revoke(principal, id);
  }

  @Query(() => [AccessToken], {
    description: "Consortium admin: the consortium's tokens (never their secrets).",
  })
  accessTokens(
    @CurrentPrincipal() principal: Principal,
    @Args('consortiumId', { type: () => ID }) consortiumId: string,
  ): Promise<AccessToken[]> {
    return this.tokens.list(principal, consortiumId);
  }
}
