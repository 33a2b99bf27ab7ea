import { describe, expect, it } from "vitest";
import { decodeEniAttachment } from "../../src/api/eniattachment.ts";
import { DecodeError } from "../../src/api/decode.ts";
import { eniAttachment } from "./fixtures.ts";

describe("objects from the API server", () => {
  const valid = (): Record<string, unknown> =>
    JSON.parse(JSON.stringify(eniAttachment().build())) as Record<string, unknown>;

  it("are accepted as the API server returns them, extra fields included", () => {
    const object = { ...valid(), extra: true };
    expect(decodeEniAttachment(object).spec.networkInterfaceId).toBe("eni-m6dyj72l");
  });

  it("are refused with an error naming the first field that does not match", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ...valid(), spec: { instanceId: "ein-hcs7jkg4", ecmRegion: "ap-xian-ecm" } }, "/spec/networkInterfaceId"],
      [{ ...valid(), status: { phase: "Sideways" } }, "/status/phase"],
      [{ ...valid(), kind: "Pod" }, "/kind"],
      [{ ...valid(), metadata: { name: "web" } }, "/metadata/namespace"],
    ];
    for (const [object, field] of cases) {
      const error = (() => {
        try {
          decodeEniAttachment(object);
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(DecodeError);
      expect(error).toMatchObject({ field });
      expect(String(error)).toContain(field);
    }
  });
});
