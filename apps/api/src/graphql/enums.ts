import { registerEnumType } from '@nestjs/graphql';
import { FederationStatus, InstitutionStatus, JobStatus, Role, RoundStatus } from '@fl/persistence';

registerEnumType(InstitutionStatus, { name: 'InstitutionStatus' });
registerEnumType(Role, { name: 'Role' });
registerEnumType(FederationStatus, { name: 'FederationStatus' });
registerEnumType(RoundStatus, { name: 'RoundStatus' });
registerEnumType(JobStatus, { name: 'JobStatus' });

export { FederationStatus, InstitutionStatus, JobStatus, Role, RoundStatus };
