// `npm test` pre-step: the test suite needs the openssl CLI (the API test server
// and TLS tests make certificates with it). Installs it from Debian's packages when
// missing and running as root; otherwise says what to install.
import { execFileSync } from "node:child_process";

function has(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

if (!has("openssl", ["version"])) {
  if (process.getuid?.() === 0 && has("apt-get", ["--version"])) {
    process.stderr.write("openssl is missing: installing it from Debian's packages\n");
    execFileSync("apt-get", ["update"], { stdio: "inherit" });
    execFileSync("apt-get", ["install", "-y", "--no-install-recommends", "openssl"], { stdio: "inherit" });
  } else {
    process.stderr.write("The tests need the openssl command; install it (e.g. `apt-get install openssl`) and run again.\n");
    process.exit(1);
  }
}
