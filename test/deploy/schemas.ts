/**
 * zod schemas for the subset of the Kubernetes API and of the Compose file format that deploy/
 * uses. Every object is strict: a misspelt field (`perodSeconds`) fails instead of being ignored
 * the way kubectl's lenient decoding or Compose v2 would. Types and formats follow the upstream
 * API (ports are integers, env values strings, names DNS-1123 labels); widen a schema when a
 * recipe needs a field it does not list yet.
 */
import { z } from 'zod';

const dnsLabel = z.string().max(63).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label');
/** Port names (IANA_SVC_NAME): at most 15 characters, lowercase, a letter, no double hyphen. */
const portName = z.string().max(15).regex(/^(?!-)(?!.*--)[a-z0-9-]*[a-z][a-z0-9-]*(?<!-)$/, 'must be an IANA service name');
const portNumber = z.number().int().min(1).max(65535);
const protocol = z.enum(['TCP', 'UDP', 'SCTP']);
const labels = z.record(z.string().regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/), z.string().max(63));
const quantity = z.union([z.string().regex(/^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/), z.number().nonnegative()]);
const seconds = z.number().int().nonnegative();

const Metadata = z.strictObject({ name: dnsLabel, namespace: dnsLabel.optional(), labels: labels.optional() });

const HttpProbe = z.strictObject({
  httpGet: z.strictObject({ path: z.string().startsWith('/'), port: z.union([portNumber, portName]), scheme: z.enum(['HTTP', 'HTTPS']).optional() }),
  initialDelaySeconds: seconds.optional(),
  periodSeconds: seconds.min(1).optional(),
  timeoutSeconds: seconds.min(1).optional(),
  successThreshold: seconds.min(1).optional(),
  failureThreshold: seconds.min(1).optional(),
});

const EnvVar = z.strictObject({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
  // The API server refuses numbers here: `value: 8080` must be quoted.
  value: z.string().optional(),
  valueFrom: z.union([
    z.strictObject({
      secretKeyRef: z.strictObject({ name: dnsLabel, key: z.string().regex(/^[-._a-zA-Z0-9]+$/), optional: z.boolean().optional() }),
    }),
    // deploy/kubernetes-cluster names each node after its pod this way (the downward API).
    z.strictObject({ fieldRef: z.strictObject({ fieldPath: z.enum(['metadata.name', 'metadata.namespace', 'status.podIP']) }) }),
  ]).optional(),
}).refine((e) => (e.value === undefined) !== (e.valueFrom === undefined), 'needs exactly one of value and valueFrom');

const Resources = z.strictObject({
  requests: z.strictObject({ cpu: quantity, memory: quantity }),
  limits: z.strictObject({ cpu: quantity.optional(), memory: quantity }),
});

const Container = z.strictObject({
  name: dnsLabel,
  image: z.string().min(1),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
  args: z.array(z.string()).optional(),
  ports: z.array(z.strictObject({ name: portName, containerPort: portNumber, protocol })),
  env: z.array(EnvVar),
  startupProbe: HttpProbe.optional(),
  livenessProbe: HttpProbe,
  readinessProbe: HttpProbe,
  resources: Resources,
  securityContext: z.strictObject({
    allowPrivilegeEscalation: z.boolean(),
    readOnlyRootFilesystem: z.boolean(),
    runAsNonRoot: z.boolean().optional(),
    capabilities: z.strictObject({ drop: z.array(z.string()), add: z.array(z.string()).optional() }),
  }),
  volumeMounts: z.array(z.strictObject({ name: dnsLabel, mountPath: z.string().startsWith('/'), readOnly: z.boolean().optional() })),
});

const PodSpec = z.strictObject({
  enableServiceLinks: z.boolean().optional(),
  terminationGracePeriodSeconds: seconds,
  securityContext: z.strictObject({
    runAsNonRoot: z.boolean(),
    runAsUser: z.number().int().nonnegative(),
    runAsGroup: z.number().int().nonnegative(),
    fsGroup: z.number().int().nonnegative(),
    fsGroupChangePolicy: z.enum(['OnRootMismatch', 'Always']).optional(),
    seccompProfile: z.strictObject({ type: z.enum(['RuntimeDefault', 'Localhost', 'Unconfined']) }).optional(),
  }),
  containers: z.array(Container).min(1),
  volumes: z.array(z.union([
    z.strictObject({
      name: dnsLabel,
      emptyDir: z.strictObject({ sizeLimit: quantity.optional(), medium: z.enum(['', 'Memory']).optional() }),
    }),
    // deploy/kubernetes-tls mounts the kubernetes.io/tls Secret this way.
    z.strictObject({
      name: dnsLabel,
      secret: z.strictObject({ secretName: dnsLabel, defaultMode: z.number().int().min(0).max(0o777).optional(), optional: z.boolean().optional() }),
    }),
  ])).optional(),
});

const StatefulSet = z.strictObject({
  apiVersion: z.literal('apps/v1'),
  kind: z.literal('StatefulSet'),
  metadata: Metadata,
  spec: z.strictObject({
    replicas: z.number().int().nonnegative(),
    serviceName: dnsLabel,
    podManagementPolicy: z.enum(['OrderedReady', 'Parallel']).optional(),
    selector: z.strictObject({ matchLabels: labels }),
    template: z.strictObject({ metadata: z.strictObject({ labels }), spec: PodSpec }),
    volumeClaimTemplates: z.array(z.strictObject({
      metadata: z.strictObject({ name: dnsLabel }),
      spec: z.strictObject({
        accessModes: z.array(z.enum(['ReadWriteOnce', 'ReadWriteOncePod', 'ReadOnlyMany', 'ReadWriteMany'])).min(1),
        storageClassName: z.string().optional(),
        resources: z.strictObject({ requests: z.strictObject({ storage: quantity }) }),
      }),
    })),
  }),
});

const Service = z.strictObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('Service'),
  metadata: Metadata,
  spec: z.strictObject({
    type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).optional(),
    clusterIP: z.string().optional(),
    publishNotReadyAddresses: z.boolean().optional(),
    selector: labels,
    ports: z.array(z.strictObject({ name: portName, port: portNumber, targetPort: z.union([portNumber, portName]), protocol })).min(1),
  }),
});

const Secret = z.strictObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('Secret'),
  metadata: Metadata,
  type: z.string().optional(),
  stringData: z.record(z.string(), z.string()).optional(),
  data: z.record(z.string(), z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64')).optional(),
});

const Kustomization = z.strictObject({
  apiVersion: z.literal('kustomize.config.k8s.io/v1beta1'),
  kind: z.literal('Kustomization'),
  namespace: dnsLabel.optional(),
  resources: z.array(z.string()).min(1),
  images: z.array(z.strictObject({ name: z.string(), newName: z.string().optional(), newTag: z.string().optional(), digest: z.string().optional() })).optional(),
});

export const K8sManifest = z.discriminatedUnion('kind', [StatefulSet, Service, Secret, Kustomization]);
export type K8sObject = z.output<typeof K8sManifest>;
export type StatefulSet = z.output<typeof StatefulSet>;
export type Service = z.output<typeof Service>;
export type Secret = z.output<typeof Secret>;
export type Kustomization = z.output<typeof Kustomization>;
export type Container = z.output<typeof Container>;
export type Probe = z.output<typeof HttpProbe>;

// --- Compose ---------------------------------------------------------------------------------

const duration = z.string().regex(/^(\d+(\.\d+)?(ms|s|m|h))+$/, 'must be a duration with units (10s, 1m30s)');

const ComposeService = z.strictObject({
  build: z.strictObject({ context: z.string(), dockerfile: z.string() }),
  image: z.string(),
  // Values as strings only: Compose turns `yes` or 0600 into something else than written.
  environment: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()),
  ports: z.array(z.string().regex(/^(\d+):(\d+)\/(tcp|udp)$/, 'write ports as "host:container/protocol"')),
  volumes: z.array(z.string().regex(/^[\w.-]+:\/[^:]*(:(ro|rw))?$/, 'write volumes as "name:/path"')),
  healthcheck: z.strictObject({
    test: z.array(z.string()).min(2), interval: duration, timeout: duration, retries: z.number().int().min(1), start_period: duration,
  }),
  restart: z.enum(['no', 'always', 'on-failure', 'unless-stopped']),
  stop_signal: z.string().regex(/^SIG[A-Z0-9]+$/),
  stop_grace_period: duration,
  read_only: z.boolean().optional(),
  tmpfs: z.array(z.string().startsWith('/')).optional(),
  cap_drop: z.array(z.string()).optional(),
  security_opt: z.array(z.string()).optional(),
});

export const ComposeFile = z.strictObject({
  services: z.record(z.string(), ComposeService),
  volumes: z.record(z.string(), z.strictObject({ name: z.string().optional() }).nullable()).optional(),
});
export type ComposeService = z.output<typeof ComposeService>;
