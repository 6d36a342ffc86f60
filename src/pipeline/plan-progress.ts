import type { ListProgress } from '../storage/list-parallel.js';

/**
 * What planning reports while it lists and indexes the input (`fruits extract` shows it on the progress line).
 * Its own module because both planners report it: plan.ts imports plan-containers.ts, so the type living in
 * plan.ts made the two import each other.
 */
export type PlanProgress = ({ phase: 'list' } & ListProgress) | { phase: 'index'; format: 'tar' | 'parquet'; files: number; filesDone: number; images: number };
