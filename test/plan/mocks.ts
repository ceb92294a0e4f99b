import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";

// Plausible provider answers for the mock engine: every resource echoes its inputs plus the
// computed outputs the program reads (ARNs, DNS names, endpoints). Only the invokes the program
// is known to make are answered; any other one throws, so a test cannot pass on an invented value.

export const mockAccount = "123456789012";
export const mockRegion = "us-east-1";
/**
 * The mock region's zones and their IDs. Names map to IDs differently in each account; here the
 * first name is the zone MSK refuses (use1-az3), as it is in some real accounts, so that a
 * program that picks zones by name alone is caught.
 */
export const mockZoneIds: Record<string, string> = {
  "us-east-1a": "use1-az3",
  "us-east-1b": "use1-az1",
  "us-east-1c": "use1-az2",
  "us-east-1d": "use1-az4",
};
export const mockZones = Object.keys(mockZoneIds);
/** The ECR password the mock hands out; tests check that it never appears in plain text. */
export const mockEcrPassword = "mock-ecr-password-do-not-print";
/** What a mocked `random.RandomPassword` generates; tests check it never appears in plain text. */
export const mockRandomPassword = "mock-random-password-do-not-print";
/** The regional load-balancer account that `aws.elb.getServiceAccount` names in us-east-1. */
export const mockElbAccount = "127311923021";

const digest = (text: string) => createHash("sha256").update(text).digest("hex");

/** Last segment of a type token, lower-cased: `aws:ec2/subnet:Subnet` -> `subnet`. */
function kind(type: string): string {
  return type.split(":").pop()!.toLowerCase();
}

/** The ARN the mock engine gives a resource. */
export function mockArn(type: string, name: string): string {
  const service = type.split(":")[1]?.split("/")[0] ?? "unknown";
  return `arn:aws:${service}:${mockRegion}:${mockAccount}:${kind(type)}/${name}`;
}

function outputsFor(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
): Record<string, unknown> {
  const host = `${name}.mock.${mockRegion}`;
  switch (type) {
    case "aws:lb/loadBalancer:LoadBalancer":
      return {
        dnsName: `${name}-1234567890.${mockRegion}.elb.amazonaws.com`,
        arnSuffix: `app/${name}/1234567890`,
        zoneId: "Z35SXDOTRQ7X7K",
      };
    case "aws:lb/targetGroup:TargetGroup":
      return { arnSuffix: `targetgroup/${name}/1234567890` };
    case "aws:s3/bucket:Bucket":
      return { bucket: name, arn: `arn:aws:s3:::${name}` };
    case "aws:secretsmanager/secret:Secret":
      // As AWS names them: the secret's name and six random characters after `secret:`.
      return { arn: `arn:aws:secretsmanager:${mockRegion}:${mockAccount}:secret:${name}-AbCdEf` };
    case "aws:acm/certificate:Certificate":
      return {
        domainValidationOptions: [
          {
            domainName: inputs["domainName"],
            resourceRecordName: `_mock.${String(inputs["domainName"])}.`,
            resourceRecordType: "CNAME",
            resourceRecordValue: "_mock.acm-validations.aws.",
          },
        ],
      };
    case "aws:acm/certificateValidation:CertificateValidation":
      return { certificateArn: inputs["certificateArn"] };
    case "aws:route53/record:Record":
      return { fqdn: String(inputs["name"]).replace(/\.$/, "") };
    case "aws:ec2/vpcEndpoint:VpcEndpoint":
      return inputs["vpcEndpointType"] === "Gateway" ? { prefixListId: "pl-63a5400a" } : {};
    case "aws:cloudwatch/dashboard:Dashboard":
      return { dashboardName: inputs["dashboardName"] ?? name };
    case "random:index/randomPassword:RandomPassword":
      return { result: mockRandomPassword };
    case "random:index/randomId:RandomId":
      return { hex: digest(name).slice(0, 2 * Number(inputs["byteLength"] ?? 8)) };
    case "aws:rds/instance:Instance":
      return {
        identifier: name,
        // As RDS reports it: the instance's immutable id, which IAM database users are keyed by.
        resourceId: `db-${digest(name).slice(0, 26).toUpperCase()}`,
        address: `${host}.rds.amazonaws.com`,
        endpoint: `${host}.rds.amazonaws.com:5432`,
        masterUserSecrets: [
          {
            secretArn: `arn:aws:secretsmanager:${mockRegion}:${mockAccount}:secret:rds!db-${name}`,
            kmsKeyId: `arn:aws:kms:${mockRegion}:${mockAccount}:key/aws-managed`,
            secretStatus: "active",
          },
        ],
      };
    case "aws:lambda/function:Function":
      // The provider hashes the package it uploads; an invocation re-runs when it changes.
      return { sourceCodeHash: `mock-${digest(name).slice(0, 16)}` };
    case "aws:lambda/invocation:Invocation":
      // What the database-roles function answers (services/shared/sql/serviceRoles.ts).
      return { result: JSON.stringify({ created: [], reowned: [] }) };
    case "aws:elasticache/replicationGroup:ReplicationGroup":
      return { primaryEndpointAddress: `master.${host}.cache.amazonaws.com` };
    case "aws:msk/cluster:Cluster":
    case "aws:msk/serverlessCluster:ServerlessCluster": {
      const brokers = (port: number) =>
        Array.from(
          { length: Number(inputs["numberOfBrokerNodes"] ?? 1) },
          (_, i) => `b-${i + 1}.${host}.kafka.amazonaws.com:${port}`,
        ).join(",");
      const clusterName = (inputs["clusterName"] as string | undefined) ?? name;
      const uuid = `${digest(name).slice(0, 8)}-0000-0000-0000-000000000000-1`;
      return {
        arn: `arn:aws:kafka:${mockRegion}:${mockAccount}:cluster/${clusterName}/${uuid}`,
        clusterName,
        clusterUuid: uuid,
        bootstrapBrokersTls: brokers(9094),
        bootstrapBrokersSaslIam: brokers(9098),
      };
    }
    case "aws:ecr/repository:Repository":
      return {
        repositoryUrl: `${mockAccount}.dkr.ecr.${mockRegion}.amazonaws.com/${name}`,
        registryId: mockAccount,
      };
    case "docker:index/image:Image": {
      const imageName = String(inputs["imageName"] ?? name).replace(/:[^:/]+$/, "");
      return { repoDigest: `${imageName}@sha256:${digest(JSON.stringify(inputs))}` };
    }
    default:
      return {};
  }
}

export const mocks: pulumi.runtime.Mocks = {
  newResource({ type, name, inputs }) {
    return {
      id: `${kind(type)}-${name}`,
      state: { name, arn: mockArn(type, name), ...inputs, ...outputsFor(type, name, inputs) },
    };
  },
  call({ token, inputs }) {
    switch (token) {
      case "aws:index/getAvailabilityZones:getAvailabilityZones": {
        // As AWS filters them: by name and zone ID exclusions (every mock zone is opted in).
        const excluded = [
          ...((inputs["excludeNames"] as string[] | undefined) ?? []),
          ...((inputs["excludeZoneIds"] as string[] | undefined) ?? []),
        ];
        const zones = mockZones.filter(
          (z) => !excluded.includes(z) && !excluded.includes(mockZoneIds[z]!),
        );
        return {
          id: mockRegion,
          region: mockRegion,
          names: zones,
          zoneIds: zones.map((z) => mockZoneIds[z]!),
          groupNames: [mockRegion],
        };
      }
      case "aws:index/getRegion:getRegion":
        return {
          id: mockRegion,
          name: mockRegion,
          region: mockRegion,
          endpoint: `ec2.${mockRegion}.amazonaws.com`,
          description: "US East (N. Virginia)",
        };
      case "aws:index/getCallerIdentity:getCallerIdentity":
        return {
          id: mockAccount,
          accountId: mockAccount,
          arn: `arn:aws:iam::${mockAccount}:user/mock`,
          userId: "MOCK",
        };
      case "aws:index/getPartition:getPartition":
        return {
          id: "aws",
          partition: "aws",
          dnsSuffix: "amazonaws.com",
          reverseDnsPrefix: "com.amazonaws",
        };
      case "aws:elb/getServiceAccount:getServiceAccount":
        return {
          id: mockElbAccount,
          arn: `arn:aws:iam::${mockElbAccount}:root`,
          region: mockRegion,
        };
      case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
        return {
          id: mockRegion,
          region: mockRegion,
          userName: "AWS",
          password: mockEcrPassword,
          authorizationToken: Buffer.from(`AWS:${mockEcrPassword}`).toString("base64"),
          proxyEndpoint: `https://${mockAccount}.dkr.ecr.${mockRegion}.amazonaws.com`,
          expiresAt: "2099-01-01T00:00:00Z",
        };
      default:
        throw new Error(
          `unmocked invoke ${token}: add it to test/plan/mocks.ts if the program really needs it`,
        );
    }
  },
};
