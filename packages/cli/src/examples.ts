// The reference systems `gatehouse dev` brings up behind the gateway (issue 6). Each lives in
// examples/<name>/ and is built only on the public packages; this list is the one place that names them.

import type { Example } from '../../../examples/example-contract.ts';
import { example as partscoder } from '../../../examples/partscoder/src/index.ts';
import { example as serviceToService } from '../../../examples/service-to-service/src/index.ts';
import { example as shop } from '../../../examples/shop/src/index.ts';
import { example as sso } from '../../../examples/sso/src/index.ts';

export type { Example, ExampleHandle } from '../../../examples/example-contract.ts';

export const examples: Example[] = [shop, partscoder, serviceToService, sso];
