import { describe, expect, it } from "vitest";
import { DUPLICATE_CLAIM, duplicateClaim } from "../../src/controller/duplicate-claim.ts";
import { ENI, NOW, REGION, eniAttachment } from "./fixtures.ts";

describe("a resource naming an ENI that an older resource owns", () => {
  it("shows Ready and Synced False with DuplicateClaim naming the owner, one event, and waits", () => {
    const decision = duplicateClaim(eniAttachment().build(), "team-b/first", NOW);
    expect(decision.step).toEqual({ kind: "none" });
    expect(decision.next).toEqual({ kind: "waitForChange" });
    const conditions = decision.status.conditions ?? [];
    expect(conditions.map((c) => [c.type, c.status, c.reason])).toEqual([
      ["Ready", "False", DUPLICATE_CLAIM],
      ["Synced", "False", DUPLICATE_CLAIM],
    ]);
    expect(conditions[0]?.message).toContain(`${ENI} in ${REGION} is owned by EniAttachment team-b/first`);
    expect(decision.events).toEqual([{ type: "Warning", reason: DUPLICATE_CLAIM, message: conditions[0]?.message }]);
  });

  it("tells it once: the next pass, with the same owner, has no event and the same status", () => {
    const first = duplicateClaim(eniAttachment().build(), "team-b/first", NOW);
    const again = duplicateClaim(eniAttachment().withStatus(first.status).build(), "team-b/first", NOW);
    expect(again.events).toEqual([]);
    expect(again.status).toEqual(first.status);
  });

  it("tells again when another resource becomes the owner", () => {
    const first = duplicateClaim(eniAttachment().build(), "team-b/first", NOW);
    const next = duplicateClaim(eniAttachment().withStatus(first.status).build(), "team-a/second", NOW);
    expect(next.events.map((e) => e.reason)).toEqual([DUPLICATE_CLAIM]);
  });

  it("is let go at once when deleted, with no event", () => {
    const decision = duplicateClaim(eniAttachment().deleting().build(), "team-b/first", NOW);
    expect(decision.step).toEqual({ kind: "removeFinalizer" });
    expect(decision.events).toEqual([]);
  });
});
