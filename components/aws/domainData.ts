import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as random from "@pulumi/random";
import { DatabaseRoles, connectStatement } from "./databaseRoles.ts";

export interface DomainDataArgs {
  vpcId: pulumi.Input<string>;
  vpcCidrBlock: pulumi.Input<string>;
  /** Isolated subnets, one per availability zone; MSK places one broker in each. */
  subnetIds: pulumi.Input<string>[];
  /** The services that use PostgreSQL: each gets a role of its own (DatabaseRoles). */
  databaseRoles: string[];
  postgres: {
    /** Major version, e.g. "16"; also selects the parameter group family. */
    engineVersion: string;
    instanceClass: string;
    storageGb: number;
    backupRetentionDays: number;
  };
  redis: {
    nodeType: string;
    /** Primary plus replicas, placed in different zones (at least 2). */
    nodes: number;
  };
  kafka: {
    /**
     * `provisioned`: one broker per zone, sized below. `serverless`: MSK Serverless, nothing to
     * size, TLS and IAM only (it has no broker logs).
     */
    mode: "provisioned" | "serverless";
    instanceType: string;
    version: string;
    storageGb: number;
  };
  /**
   * Redis AUTH token override. Default: a random 40-character token generated into the stack's
   * encrypted state. Either way it is stored in Secrets Manager for the tasks to read.
   */
  redisAuthToken?: pulumi.Input<string>;
  /** A synchronous standby database in another zone, promoted on failure. Default true. */
  multiAzDatabase?: boolean;
  /** Days to keep broker logs. Default 30. */
  logRetentionDays?: number;
  /** Default true: the database cannot be deleted until this is turned off. */
  deletionProtection?: boolean;
  tags?: Record<string, string>;
}

/** Connection strings without credentials; credentials travel only as secrets. */
export interface DataEndpointOutputs {
  databaseUrl: pulumi.Output<string>;
  redisUrl: pulumi.Output<string>;
  kafkaBrokers: pulumi.Output<string>;
}

export const ports = { postgres: 5432, redis: 6379, kafkaIam: 9098 } as const;
/**
 * The database's master user; its password is generated and rotated by RDS in Secrets Manager,
 * and only the DatabaseRoles function reads it. Services sign in as roles of their own.
 */
export const databaseUser = "platform";

/**
 * The instance classes too small for Performance Insights (Database Insights' standard mode), on
 * which RDS refuses to turn it on.
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DatabaseInsights.Engines.html
 */
export const NO_PERFORMANCE_INSIGHTS = /^db\.t[234]g?\.(micro|small)$/;

/** RDS and MSK may grow a volume up to this many times the catalog's `storageGb`. */
export const STORAGE_AUTOSCALING_FACTOR = 4;

/**
 * One domain's data stores: PostgreSQL (RDS), Redis (ElastiCache) and Kafka (MSK), each in the
 * isolated subnets of every zone, encrypted at rest with the domain's own KMS key and in transit,
 * and each behind a security group that admits only members of its "client" group. Services
 * that use a store join that client group; nothing else can reach the store.
 */
export class DomainData extends pulumi.ComponentResource {
  public readonly endpoints: DataEndpointOutputs;
  /**
   * Secrets Manager ARN of the RDS-managed master secret (JSON with `username`, `password`):
   * for the DatabaseRoles function, and an operator's break-glass; no task reads it.
   */
  public readonly databaseSecretArn: pulumi.Output<string>;
  /** The roles of the services (absent when no service uses this database). */
  public readonly databaseRoles?: DatabaseRoles;
  private readonly database: aws.rds.Instance;
  /** Secrets Manager ARN of the Redis AUTH token (plain string). */
  public readonly redisAuthSecretArn: pulumi.Output<string>;
  public readonly kafkaClusterArn: pulumi.Output<string>;
  public readonly kafkaClusterName: pulumi.Output<string>;
  /** Brokers of the provisioned MSK cluster, for their disk alarms; undefined when serverless. */
  public readonly kafkaBrokerCount?: number;
  /** RDS instance identifier, for CloudWatch metric dimensions. */
  public readonly databaseIdentifier: pulumi.Output<string>;
  /** The Redis nodes (cache cluster ids), for CloudWatch metric dimensions. */
  public readonly redisNodeIds: pulumi.Output<string>[];
  /** Security groups a task joins to be admitted by each store. */
  public readonly clientSecurityGroupIds: {
    postgres: pulumi.Output<string>;
    redis: pulumi.Output<string>;
    kafka: pulumi.Output<string>;
  };
  /** IAM statements that let a task produce and consume on this domain's Kafka (SASL/IAM). */
  public readonly kafkaClientStatements: pulumi.Output<Record<string, unknown>[]>;

  constructor(name: string, args: DomainDataArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:aws:DomainData", name, {}, opts);
    const zoneCount = args.subnetIds.length;
    if (zoneCount < 2) throw new Error(`${name}: data stores need subnets in at least 2 zones`);
    // https://docs.aws.amazon.com/msk/latest/developerguide/msk-create-cluster.html
    if (args.kafka.mode === "provisioned" && zoneCount > 3)
      throw new Error(`${name}: MSK takes 2 or 3 client subnets (got ${zoneCount})`);
    if (args.redis.nodes < 2)
      throw new Error(`${name}: redis needs at least 2 nodes for automatic failover`);
    const tags = args.tags ?? {};
    const parent = { parent: this };

    const key = new aws.kms.Key(
      `${name}-key`,
      {
        description: `${name}: data at rest`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        tags,
      },
      // The final snapshot that `destroy` takes is encrypted with this key: deleting the key
      // would make the snapshot unrestorable once the deletion window ends. `destroy` leaves it
      // (about $1 a month); delete it by hand once no snapshot needs it (docs/aws.md).
      { parent: this, retainOnDelete: true },
    );

    // A store's group admits its port only from its client group; tasks join client groups.
    const guard = (store: string, port: number) => {
      const clients = new aws.ec2.SecurityGroup(
        `${name}-${store}-clients`,
        {
          vpcId: args.vpcId,
          description: `${name}: members may reach ${store}`,
          tags: { ...tags, Name: `${name}-${store}-clients` },
        },
        parent,
      );
      const server = new aws.ec2.SecurityGroup(
        `${name}-${store}-sg`,
        {
          vpcId: args.vpcId,
          description: `${name}: ${store} from its clients only`,
          tags: { ...tags, Name: `${name}-${store}-sg` },
        },
        parent,
      );
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-${store}-from-clients`,
        {
          securityGroupId: server.id,
          referencedSecurityGroupId: clients.id,
          ipProtocol: "tcp",
          fromPort: port,
          toPort: port,
          description: `${store} from its client group`,
          tags,
        },
        parent,
      );
      return { clients, server };
    };

    // PostgreSQL
    const pg = guard("postgres", ports.postgres);
    const pgSubnets = new aws.rds.SubnetGroup(
      `${name}-postgres`,
      { subnetIds: args.subnetIds, tags },
      parent,
    );
    const major = args.postgres.engineVersion.split(".")[0];
    const pgParams = new aws.rds.ParameterGroup(
      `${name}-postgres`,
      {
        family: `postgres${major}`,
        description: `${name}: TLS required`,
        parameters: [{ name: "rds.force_ssl", value: "1" }],
        tags,
      },
      parent,
    );
    const dbName = name.replace(/[^a-zA-Z0-9]/g, "_");
    // Named, not autonamed, so that the log group RDS exports to can exist first with a
    // retention: RDS would otherwise create `/aws/rds/instance/<id>/postgresql` itself, outside
    // Pulumi, keeping the database's logs forever. Identifiers are per account and region: the
    // stack is part of it (infra/aws/names.ts checks its length).
    // https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.Procedural.UploadtoCloudWatch.html
    const identifier = `${name}-pg-${pulumi.getStack()}`;
    const postgresLogs = new aws.cloudwatch.LogGroup(
      `${name}-postgres-logs`,
      {
        name: `/aws/rds/instance/${identifier}/postgresql`,
        retentionInDays: args.logRetentionDays ?? 30,
        tags,
      },
      parent,
    );
    // A final snapshot's identifier must be new at each deletion, or the second one fails with
    // DBSnapshotAlreadyExists. Destroy and up again draws a new suffix; so does a replacement,
    // since the keepers are the inputs that force one.
    const finalSnapshot = new random.RandomId(
      `${name}-postgres-final`,
      {
        byteLength: 4,
        keepers: {
          identifier,
          dbName,
          engine: "postgres",
          kmsKeyId: key.arn,
          storageEncrypted: "true",
          username: databaseUser,
        },
      },
      parent,
    );
    const database = new aws.rds.Instance(
      `${name}-postgres`,
      {
        identifier,
        engine: "postgres",
        engineVersion: args.postgres.engineVersion,
        instanceClass: args.postgres.instanceClass,
        allocatedStorage: args.postgres.storageGb,
        // Storage autoscaling: RDS grows the volume when it runs low instead of the database
        // stopping on a full disk. https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIOPS.Autoscaling.html
        maxAllocatedStorage: args.postgres.storageGb * STORAGE_AUTOSCALING_FACTOR,
        storageType: "gp3",
        storageEncrypted: true,
        kmsKeyId: key.arn,
        dbName,
        username: databaseUser,
        // RDS generates the password and keeps it in Secrets Manager: it never enters Pulumi state.
        manageMasterUserPassword: true,
        dbSubnetGroupName: pgSubnets.name,
        parameterGroupName: pgParams.name,
        vpcSecurityGroupIds: [pg.server.id],
        publiclyAccessible: false,
        multiAz: args.multiAzDatabase ?? true,
        backupRetentionPeriod: args.postgres.backupRetentionDays,
        copyTagsToSnapshot: true,
        deletionProtection: args.deletionProtection ?? true,
        skipFinalSnapshot: false,
        finalSnapshotIdentifier: pulumi.interpolate`${name}-postgres-final-${finalSnapshot.hex}`,
        autoMinorVersionUpgrade: true,
        enabledCloudwatchLogsExports: ["postgresql"],
        // Services sign in as their own roles with IAM tokens: no password of theirs exists.
        iamDatabaseAuthenticationEnabled: true,
        // Which statements load the database, where the class allows it; the 7 days kept free.
        ...(NO_PERFORMANCE_INSIGHTS.test(args.postgres.instanceClass)
          ? { performanceInsightsEnabled: false }
          : {
              performanceInsightsEnabled: true,
              performanceInsightsKmsKeyId: key.arn,
              performanceInsightsRetentionPeriod: 7,
            }),
        tags,
      },
      { parent: this, dependsOn: [postgresLogs] },
    );
    this.database = database;

    // Redis
    const redis = guard("redis", ports.redis);
    const redisSubnets = new aws.elasticache.SubnetGroup(
      `${name}-redis`,
      { subnetIds: args.subnetIds, tags },
      parent,
    );
    const redisAuth = new aws.secretsmanager.Secret(
      `${name}-redis-auth`,
      // The AWS-managed key: task execution roles can read it without a KMS grant of their own.
      { description: `${name}: Redis AUTH token`, recoveryWindowInDays: 7, tags },
      parent,
    );
    // ElastiCache accepts printable characters except `@`, `"`, `/` and spaces in a token.
    const token = pulumi.secret(
      args.redisAuthToken ??
        new random.RandomPassword(
          `${name}-redis-auth`,
          { length: 40, special: true, overrideSpecial: "!&#$^<>-" },
          parent,
        ).result,
    );
    new aws.secretsmanager.SecretVersion(
      `${name}-redis-auth`,
      { secretId: redisAuth.id, secretString: token },
      parent,
    );
    const cache = new aws.elasticache.ReplicationGroup(
      `${name}-redis`,
      {
        description: `${name}: cache, rate limits`,
        engine: "redis",
        engineVersion: "7.1",
        nodeType: args.redis.nodeType,
        numCacheClusters: args.redis.nodes,
        port: ports.redis,
        automaticFailoverEnabled: true,
        multiAzEnabled: true,
        subnetGroupName: redisSubnets.name,
        securityGroupIds: [redis.server.id],
        atRestEncryptionEnabled: true,
        kmsKeyId: key.arn,
        transitEncryptionEnabled: true,
        authToken: token,
        snapshotRetentionLimit: 1,
        autoMinorVersionUpgrade: true,
        tags,
      },
      parent,
    );

    // Kafka
    const kafka = guard("kafka", ports.kafkaIam);
    const cluster =
      args.kafka.mode === "serverless"
        ? new aws.msk.ServerlessCluster(
            `${name}-kafka`,
            {
              // Serverless is always TLS-only and encrypted at rest; IAM is its only client auth.
              clientAuthentication: { sasl: { iam: { enabled: true } } },
              vpcConfigs: [{ subnetIds: args.subnetIds, securityGroupIds: [kafka.server.id] }],
              tags,
            },
            parent,
          )
        : this.provisionedKafka(name, args, kafka.server.id, key.arn, tags);

    this.endpoints = {
      databaseUrl: pulumi.interpolate`postgres://${databaseUser}@${database.address}:${ports.postgres}/${dbName}?sslmode=require`,
      redisUrl: pulumi.interpolate`rediss://${cache.primaryEndpointAddress}:${ports.redis}`,
      kafkaBrokers: cluster.bootstrapBrokersSaslIam,
    };
    this.databaseSecretArn = database.masterUserSecrets.apply((secrets) => {
      const arn = secrets[0]?.secretArn;
      if (!arn) throw new Error(`${name}: RDS reported no managed master secret`);
      return arn;
    });
    if (args.databaseRoles.length > 0)
      this.databaseRoles = new DatabaseRoles(
        name,
        {
          services: args.databaseRoles,
          masterSecretArn: this.databaseSecretArn,
          address: database.address,
          port: ports.postgres,
          databaseName: dbName,
          instanceResourceId: database.resourceId,
          vpcId: args.vpcId,
          vpcCidrBlock: args.vpcCidrBlock,
          subnetIds: args.subnetIds,
          clientSecurityGroupId: pg.clients.id,
          logRetentionDays: args.logRetentionDays ?? 30,
          tags,
        },
        parent,
      );
    this.redisAuthSecretArn = redisAuth.arn;
    this.kafkaClusterArn = cluster.arn;
    this.kafkaClusterName = cluster.clusterName;
    if (cluster instanceof aws.msk.Cluster) this.kafkaBrokerCount = args.subnetIds.length;
    this.databaseIdentifier = database.identifier;
    // ElastiCache names a replication group's nodes `<group id>-001`, `-002`, ...
    this.redisNodeIds = Array.from(
      { length: args.redis.nodes },
      (_, i) => pulumi.interpolate`${cache.id}-${String(i + 1).padStart(3, "0")}`,
    );
    this.clientSecurityGroupIds = {
      postgres: pg.clients.id,
      redis: redis.clients.id,
      kafka: kafka.clients.id,
    };
    this.kafkaClientStatements = pulumi
      .all([cluster.arn, cluster.clusterName, cluster.clusterUuid])
      .apply(([arn, clusterName, uuid]): Record<string, unknown>[] => {
        // Topic and group ARNs share the cluster ARN's account and region.
        const base = arn.split(":cluster/")[0];
        return [
          {
            Effect: "Allow",
            Action: ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"],
            Resource: arn,
          },
          {
            Effect: "Allow",
            Action: [
              "kafka-cluster:DescribeTopic",
              "kafka-cluster:CreateTopic",
              "kafka-cluster:ReadData",
              "kafka-cluster:WriteData",
            ],
            Resource: `${base}:topic/${clusterName}/${uuid}/*`,
          },
          {
            Effect: "Allow",
            Action: ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"],
            Resource: `${base}:group/${clusterName}/${uuid}/*`,
          },
        ];
      });
    this.registerOutputs({
      databaseUrl: this.endpoints.databaseUrl,
      redisUrl: this.endpoints.redisUrl,
      kafkaBrokers: this.endpoints.kafkaBrokers,
      databaseSecretArn: this.databaseSecretArn,
      redisAuthSecretArn: this.redisAuthSecretArn,
    });
  }

  /**
   * Where `service` connects, as its own role: resolves only once the roles exist, so that a
   * task definition that holds it waits for them.
   */
  databaseUrlFor(service: string): pulumi.Output<string> {
    const roles = this.databaseRoles;
    if (!roles?.services.includes(service))
      throw new Error(`DomainData: ${service} has no database role (databaseRoles)`);
    const db = this.database;
    return pulumi
      .all([db.address, db.dbName, roles.ready])
      .apply(
        ([address, dbName]) =>
          `postgres://${service}@${address}:${ports.postgres}/${dbName}?sslmode=require`,
      );
  }

  /** The task-role statement that lets `service` sign in as its role, and as no other. */
  databaseConnectStatement(service: string): pulumi.Output<Record<string, unknown>> {
    return connectStatement(service, this.database.resourceId);
  }

  /** Brokers spread one per zone, TLS everywhere, KMS at rest, IAM auth, logs to CloudWatch. */
  private provisionedKafka(
    name: string,
    args: DomainDataArgs,
    securityGroupId: pulumi.Output<string>,
    keyArn: pulumi.Output<string>,
    tags: Record<string, string>,
  ): aws.msk.Cluster {
    const parent = { parent: this };
    const brokerLogs = new aws.cloudwatch.LogGroup(
      `${name}-kafka-logs`,
      { retentionInDays: args.logRetentionDays ?? 30, tags },
      parent,
    );
    const cluster = new aws.msk.Cluster(
      `${name}-kafka`,
      {
        kafkaVersion: args.kafka.version,
        numberOfBrokerNodes: args.subnetIds.length,
        brokerNodeGroupInfo: {
          instanceType: args.kafka.instanceType,
          clientSubnets: args.subnetIds,
          securityGroups: [securityGroupId],
          storageInfo: { ebsStorageInfo: { volumeSize: args.kafka.storageGb } },
        },
        encryptionInfo: {
          encryptionAtRestKmsKeyArn: keyArn,
          encryptionInTransit: { clientBroker: "TLS", inCluster: true },
        },
        // IAM authentication: tasks are authorised by their task role, no password to leak.
        clientAuthentication: { sasl: { iam: true }, unauthenticated: false },
        loggingInfo: {
          brokerLogs: { cloudwatchLogs: { enabled: true, logGroup: brokerLogs.name } },
        },
        tags,
      },
      // Storage autoscaling (below) grows the volumes; Pulumi must not shrink them back.
      {
        parent: this,
        ignoreChanges: ["brokerNodeGroupInfo.storageInfo.ebsStorageInfo.volumeSize"],
      },
    );
    // A broker whose disk fills stops taking writes: MSK grows each volume when its use passes
    // 70 %, up to 4 x the catalog's size. It never shrinks one.
    // https://docs.aws.amazon.com/msk/latest/developerguide/msk-autoexpand.html
    const storage = new aws.appautoscaling.Target(
      `${name}-kafka-storage`,
      {
        serviceNamespace: "kafka",
        scalableDimension: "kafka:broker-storage:VolumeSize",
        resourceId: cluster.arn,
        minCapacity: 1,
        maxCapacity: args.kafka.storageGb * STORAGE_AUTOSCALING_FACTOR,
        tags,
      },
      parent,
    );
    new aws.appautoscaling.Policy(
      `${name}-kafka-storage`,
      {
        policyType: "TargetTrackingScaling",
        serviceNamespace: storage.serviceNamespace,
        scalableDimension: storage.scalableDimension,
        resourceId: storage.resourceId,
        targetTrackingScalingPolicyConfiguration: {
          predefinedMetricSpecification: { predefinedMetricType: "KafkaBrokerStorageUtilization" },
          targetValue: 70,
          disableScaleIn: true,
        },
      },
      parent,
    );
    return cluster;
  }
}
