import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

export interface AlbCertificateArgs {
  /** The public DNS name, in a Route 53 zone that validates it. */
  domain: { name: string; hostedZoneId: pulumi.Input<string> };
  tags?: Record<string, string>;
}

/** An ACM certificate for a public name, validated by DNS in its hosted zone. */
export class AlbCertificate extends pulumi.ComponentResource {
  /** Resolves once the certificate is issued, so a listener never serves one still pending. */
  public readonly certificateArn: pulumi.Output<string>;

  constructor(name: string, args: AlbCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:aws:AlbCertificate", name, {}, opts);
    const parent = { parent: this };
    const { domain } = args;
    const cert = new aws.acm.Certificate(
      `${name}-cert`,
      { domainName: domain.name, validationMethod: "DNS", tags: args.tags ?? {} },
      parent,
    );
    const option = cert.domainValidationOptions.apply((options) => {
      const first = options[0];
      if (!first) throw new Error(`${name}: ACM returned no DNS validation record`);
      return first;
    });
    const record = new aws.route53.Record(
      `${name}-cert-validation`,
      {
        zoneId: domain.hostedZoneId,
        name: option.resourceRecordName,
        type: option.resourceRecordType,
        records: [option.resourceRecordValue],
        ttl: 300,
        allowOverwrite: true,
      },
      parent,
    );
    this.certificateArn = new aws.acm.CertificateValidation(
      `${name}-cert`,
      { certificateArn: cert.arn, validationRecordFqdns: [record.fqdn] },
      parent,
    ).certificateArn;
    this.registerOutputs({ certificateArn: this.certificateArn });
  }
}
