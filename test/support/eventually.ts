/** Tests poll with the same helper the benchmark harness uses (bench/eventually.ts). */
export { eventually } from '../../bench/eventually.ts';
