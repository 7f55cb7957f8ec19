import { chooseSecureAggregation } from '@fl/federation';
import type { FederationPlan } from './federation-driver';

/**
 * The plan as it runs: a federation of one institution trains without secure aggregation even
 * when it was asked for (chooseSecureAggregation: nothing to aggregate, no other party), and its
 * options say so. Derived once, so every step of the driver sees the same effective flag, whether
 * the api already recorded the decision or the plan comes from elsewhere.
 */
export function effectivePlan(plan: FederationPlan): FederationPlan {
  const { secure, skipped } = chooseSecureAggregation(
    plan.options.secureAggregation,
    plan.participants.length,
  );
  if (!skipped) return plan;
  return {
    ...plan,
    options: { ...plan.options, secureAggregation: secure, secureAggregationSkipped: skipped },
  };
}
