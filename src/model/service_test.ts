import assert from "node:assert/strict";
import { serviceFromJson } from "./service.ts";
import { isHostState, isPortState, isProtocol } from "./states.ts";

const TLS = {
  subject: "CN=lab.example",
  issuer: "CN=lab.example",
  sans: ["DNS:lab.example"],
  notBefore: "2030-01-01T00:00:00Z",
  notAfter: "2031-01-01T00:00:00Z",
  sha256: "AB:CD",
  alpn: "",
  version: "TLSv1.3",
};

Deno.test("serviceFromJson: a service as the engine writes it comes back whole", () => {
  const service = {
    name: "http",
    product: "nginx",
    version: "1.22.1",
    extraInfo: "Debian",
    hostname: "lab",
    ostype: "Linux",
    devicetype: "router",
    cpe: ["cpe:/a:nginx:nginx:1.22.1"],
    http: { status: 200, server: "nginx/1.22.1", title: "Lab" },
    tls: TLS,
    method: "probed",
    tunnel: "ssl",
    certificate: { fingerprint: "AB:CD", subject: "CN=lab.example", notAfter: "2031-01-01" },
    banner: "HTTP/1.1 200 OK",
  };
  assert.deepEqual(serviceFromJson(structuredClone(service)), service);
});

Deno.test("serviceFromJson: a malformed service is narrowed, not passed through", () => {
  assert.deepEqual(
    serviceFromJson({
      name: "ssh",
      product: 5,
      version: { major: 9 },
      cpe: ["cpe:/a:x", 7, null, ""],
      method: "guessed",
      tunnel: "tls",
      http: { status: "200" },
      certificate: { sha256: "aa:aa", subject: { commonName: "x" } },
      injected: "<script>",
    }),
    { name: "ssh", cpe: ["cpe:/a:x"] },
  );
  // A TLS object keeps its shape: what is missing or wrong reads as empty.
  assert.deepEqual(serviceFromJson({ tls: { subject: "CN=a", sans: "DNS:a", alpn: 2 } }), {
    tls: {
      subject: "CN=a",
      issuer: "",
      sans: [],
      notBefore: "",
      notAfter: "",
      sha256: "",
      alpn: "",
      version: "",
    },
  });
  // Nothing left, or no object at all: no service.
  for (const value of [{}, { name: "", cpe: [] }, "ssh", 42, null, [], [{ name: "ssh" }]]) {
    assert.equal(serviceFromJson(value), undefined, JSON.stringify(value));
  }
});

Deno.test("state guards: nmap's words only", () => {
  assert.ok(isPortState("open|filtered") && !isPortState("ajar") && !isPortState(undefined));
  assert.ok(isHostState("unknown") && !isHostState("sideways"));
  assert.ok(isProtocol("udp") && !isProtocol("sctp"));
});
