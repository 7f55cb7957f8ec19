/** Live progress of a federation, published by the aggregator on Redis pub/sub. */
export interface FederationEvent {
  federationId: string;
  /** 'round' after each round; 'status' when the federation's status changes. */
  kind: 'round' | 'status';
  status: string;
  round: number;
  rounds: number;
  meanLoss?: number;
  survivors?: string[];
  dropouts?: string[];
  seconds?: number;
  at: string;
}

export function federationEventsChannel(federationId: string): string {
  return `scp:events:federation:${federationId}`;
}
