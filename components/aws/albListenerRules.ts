import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

/**
 * A path prefix (`/v1/orders`) and the target (a gateway tier) that serves it and everything
 * below it. Canaries are the gateways' (their version router splits by weight and honours
 * `x-api-version`), so the edge routes by path alone.
 */
export interface AlbRoute {
  prefix: string;
  /** A key of the target groups. */
  target: string;
}

export interface AlbListenerRulesArgs {
  listenerArn: pulumi.Input<string>;
  /** The target groups' ARNs, by key. */
  targetGroupArns: Record<string, pulumi.Input<string>>;
  /** Matched in order: the first route gets the highest priority. */
  routes: AlbRoute[];
  /** The key of the target that receives every `/v1/*` path that no route claims. */
  defaultTarget: string;
  tags?: Record<string, string>;
}

/** ALB rule conditions accept at most 5 values in total; larger sets split into several rules. */
const maxConditionValues = 5;

/** The path patterns of a prefix: the prefix itself and everything below it. */
function pathPatterns(prefix: string): string[] {
  return [prefix, `${prefix}/*`];
}

/** Splits `values` into groups of at most `size`, keeping a prefix's patterns together. */
function chunk<T>(values: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}

/**
 * A listener's routing: each route prefix forwarded to its target group, in the routes' order,
 * then `/v1/*` to the default target. What no rule matches gets the listener's own default.
 */
export class AlbListenerRules extends pulumi.ComponentResource {
  /** For resources that must wait until routing exists (ECS attaches a target group then). */
  public readonly rules: aws.lb.ListenerRule[];

  constructor(name: string, args: AlbListenerRulesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:aws:AlbListenerRules", name, {}, opts);
    const tags = args.tags ?? {};
    const parent = { parent: this };
    const targetArn = (key: string) => {
      const arn = args.targetGroupArns[key];
      if (!arn) throw new Error(`${name}: a route names target "${key}", which is not in targets`);
      return arn;
    };
    // Priorities follow the route order (ALB evaluates the lowest number first); the `/v1/*`
    // catch-all comes last.
    const rules = args.routes.flatMap((route) =>
      chunk(pathPatterns(route.prefix), maxConditionValues).map((values) => ({ route, values })),
    );
    this.rules = rules.map(
      ({ route, values }, i) =>
        new aws.lb.ListenerRule(
          `${name}-route-${i + 1}`,
          {
            listenerArn: args.listenerArn,
            priority: (i + 1) * 10,
            conditions: [{ pathPattern: { values } }],
            actions: [{ type: "forward", targetGroupArn: targetArn(route.target) }],
            tags: { ...tags, route: route.prefix },
          },
          parent,
        ),
    );
    this.rules.push(
      new aws.lb.ListenerRule(
        `${name}-route-default`,
        {
          listenerArn: args.listenerArn,
          // The highest priority number ALB allows: evaluated after every route.
          priority: 50000,
          conditions: [{ pathPattern: { values: ["/v1/*"] } }],
          actions: [{ type: "forward", targetGroupArn: targetArn(args.defaultTarget) }],
          tags: { ...tags, route: "/v1/*" },
        },
        parent,
      ),
    );
    this.registerOutputs({});
  }
}
