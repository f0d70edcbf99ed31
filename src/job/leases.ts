/**
 * @module
 * The seam between the fleet job service (actors/job-service.ts) and cluster mode's job leases
 * (src/cluster/job-leases.ts): which node runs a job.
 */

export interface JobLeases {
  /** Takes the job's lease, or renews it when this node holds it; false while another node holds it. */
  acquire(job: string): Promise<boolean>;
  /** Whether this node may run the job now (its lease has time to spare). */
  holds(job: string): boolean;
  /** Frees the job's lease (its loop stopped here), so another node may take it at once. */
  release(job: string): Promise<void>;
  /** Deletes the job's lease key for good (the job record is deleted by retention). */
  forget(job: string): Promise<void>;
}
