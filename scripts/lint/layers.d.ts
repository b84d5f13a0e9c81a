// Types for layers.js (plain JavaScript so that eslint.config.js loads it as is).
import type { ESLint, Rule } from 'eslint';

export declare const LAYERS: readonly (readonly string[])[];
export declare function layerViolation(srcRoot: string, from: string, to: string): string | undefined;
export declare const layersRule: Rule.RuleModule;
export declare const layersPlugin: ESLint.Plugin;
