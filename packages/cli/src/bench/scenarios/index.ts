import type { Scenario } from '../scenario.ts';
import { partscoderScenario } from './partscoder.ts';
import { shopScenario } from './shop.ts';
import { tokensScenario } from './tokens.ts';

export const scenarios: Scenario[] = [shopScenario, partscoderScenario, tokensScenario];
