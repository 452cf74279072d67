/** Runs the stage files one after another in name order (00-host … 40-cni): the lesson's order. */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

export default class LessonOrderSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId));
  }

  override async shard(files: TestSpecification[]): Promise<TestSpecification[]> {
    return files;
  }
}
