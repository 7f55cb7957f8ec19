/**
 * Whether a federation trains with secure aggregation. Secure aggregation hides each
 * institution's parameters inside the sum of all of them, so that the aggregator learns only the
 * sum. With one institution there is nothing to aggregate and no other party: the "sum" is that
 * institution's own parameters, which the model is anyway. Masking would hide nothing, and its key
 * set-up needs at least two parties (libs/secure-agg). A federation of one therefore trains with
 * plain FedAvg, exactly as with secure aggregation off, and records why.
 */

/** Secure aggregation was asked for but not used, and why; recorded with the model. */
export interface SecureAggregationSkipped {
  reason: 'single-institution';
  /** The same fact in one sentence, for people (command line, dashboard). */
  message: string;
}

export const SINGLE_INSTITUTION_SKIP: SecureAggregationSkipped = {
  reason: 'single-institution',
  message:
    'One institution: secure aggregation is not needed (there is nothing to aggregate and no other party); ' +
    'training without it.',
};

export interface SecureAggregationChoice {
  /** Whether the rounds use secure aggregation. */
  secure: boolean;
  /** Set when it was asked for and is not used. */
  skipped?: SecureAggregationSkipped;
}

/** What runs, given whether secure aggregation was asked for and how many institutions train. */
export function chooseSecureAggregation(requested: boolean, institutions: number): SecureAggregationChoice {
  if (requested && institutions === 1) return { secure: false, skipped: SINGLE_INSTITUTION_SKIP };
  return { secure: requested };
}
