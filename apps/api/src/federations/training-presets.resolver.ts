import { Query, Resolver } from '@nestjs/graphql';
import { consortiumPrincipal } from '../auth/access';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import type { Principal } from '../auth/principal';
import { TrainingPreset } from './models/training-preset.model';
import { platformPresets } from './training-presets';

@Resolver(() => TrainingPreset)
export class TrainingPresetsResolver {
  @Query(() => [TrainingPreset], {
    description: 'The training presets of `scprivacy run --preset`, and which a federation may use.',
  })
  trainingPresets(@CurrentPrincipal() principal: Principal): TrainingPreset[] {
    // Presets are the same for everyone; only a consortium's admins and members plan federations.
    consortiumPrincipal(principal, 'list training presets');
    return platformPresets();
  }
}
