import { recordComponents } from "../../test/plan/harness.ts";
import { AlbCertificate } from "./albCertificate.ts";

// The AlbCertificate component on its own, under the mocks.

test("a DNS-validated certificate, its validation record in the zone, and the wait for it", async () => {
  const records = await recordComponents(
    () =>
      new AlbCertificate("edge", {
        domain: { name: "api.example.com", hostedZoneId: "Z123456" },
        tags: { project: "p" },
      }),
  );
  expect(records.one("aws:acm/certificate:Certificate", "edge-cert").inputs).toMatchObject({
    domainName: "api.example.com",
    validationMethod: "DNS",
    tags: { project: "p" },
  });
  expect(records.one("aws:route53/record:Record", "edge-cert-validation").inputs).toMatchObject({
    zoneId: "Z123456",
    name: "_mock.api.example.com.",
    type: "CNAME",
    records: ["_mock.acm-validations.aws."],
  });
  expect(
    records.one("aws:acm/certificateValidation:CertificateValidation", "edge-cert").inputs,
  ).toMatchObject({ validationRecordFqdns: ["_mock.api.example.com"] });
});
