// Prints one plain closing line, "jest: N passed, N failed[, N skipped]", that CI log readers
// understand (Jest's own "Tests:" line is not in that form). A suite that failed to load counts
// as a failure, so a broken file never reads as green.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stdout.write(
      `jest: ${results.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`,
    );
  }
}
module.exports = SummaryReporter;
