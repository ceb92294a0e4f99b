import { recordComponents } from "../../test/plan/harness.ts";
import { GatewayTier } from "./gatewayTier.ts";

// The GatewayTier component on its own, under the mocks: a ServiceGroup that the load balancer
// alone may reach, registered in the load balancer's target group of the tier.

test("admits the load balancer alone and registers in its target group", async () => {
  const records = await recordComponents(
    () =>
      new GatewayTier("gw-business", {
        clusterArn: "arn:cluster",
        clusterName: "cluster",
        vpcId: "vpc-1",
        vpcCidrBlock: "10.0.0.0/16",
        s3PrefixListId: "pl-s3",
        subnetIds: ["subnet-a", "subnet-b"],
        namespaceId: "ns-1",
        discoveryName: "gateway-business",
        image: "repo/platform@sha256:abc",
        repositoryArn: "arn:repo",
        command: ["services/gateway/main.ts"],
        containerPort: 8080,
        cpu: 512,
        memory: 1024,
        replicas: 2,
        environment: {},
        loadBalancerSecurityGroupId: "sg-alb",
        targetGroupArn: "arn:tg-business",
      }),
  );
  const tier = records.one("platform:aws:GatewayTier", "gw-business");
  const group = records.one("platform:aws:ServiceGroup", "gw-business");
  expect(group.parent).toBe(tier.urn);
  const ingress = records.byType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
  expect(ingress.map((r) => r.inputs["referencedSecurityGroupId"])).toEqual(["sg-alb"]);
  expect(records.one("aws:ecs/service:Service", "gw-business-service").inputs).toMatchObject({
    loadBalancers: [
      { targetGroupArn: "arn:tg-business", containerName: "app", containerPort: 8080 },
    ],
  });
});
