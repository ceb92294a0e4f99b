// Where this machine, the kit's AWS provider or moto falls short of the dev and prod stacks, by
// resource type, with the reason seen: `npm run emulate:aws` tolerates a failure of these types
// (and leaves undeployed what waits on them) and fails on any other. Fix a gap in the kit
// (../shared/pulumi/aws) or the emulator, never by changing the program to suit the emulator;
// a type that starts to work is reported for removal.
export const KNOWN_GAPS: Record<string, string> = {
  // The function's code archive holds the RDS CA bundle, which Pulumi fetches when it hashes the
  // archive (a RemoteAsset of truststore.pki.rds.amazonaws.com): no internet here. Once fetched,
  // moto would still need to pull a Lambda runtime image to run the invocation. Waiting on the
  // roles it creates: every service with a database, its task definition, scaling and alarms.
  "aws:lambda/function:Function":
    "this machine cannot fetch the RDS CA bundle the function's code holds (no internet)",
};
