import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'scprivacy:public';

/** Routes anyone may call without a token (health probes). */
export const Public = () => SetMetadata(IS_PUBLIC, true);
