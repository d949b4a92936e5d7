using System.Text.RegularExpressions;
using EdgeNets.Tests.Conformance;
using NUnit.Framework;

namespace EdgeNets.Tests.Recurrent;

/// <summary>ONNX's conformance cases of LSTM, GRU and RNN (libonnx-testdata), converted to float32 and compared at 1e-4.</summary>
[TestFixture]
public class RecurrentConformanceTests
{
    private static readonly Regex RecurrentCases = new("^test_(lstm_|gru_|rnn_|simple_rnn_)");

    public static IEnumerable<TestCaseData> Cases()
    {
        string dir = Path.Combine(OnnxConformanceTests.DataRoot, "node");
        if (!Directory.Exists(dir)) yield break;
        foreach (var caseDir in Directory.GetDirectories(dir).OrderBy(d => d, StringComparer.Ordinal))
        {
            string name = Path.GetFileName(caseDir);
            if (RecurrentCases.IsMatch(name)) yield return new TestCaseData($"node/{name}").SetName($"RecurrentConformance(node/{name})");
        }
    }

    [Test]
    public void CaseList_HasEveryRecurrentOperator()
    {
        if (!Directory.Exists(OnnxConformanceTests.DataRoot)) Assert.Ignore($"{OnnxConformanceTests.DataRoot} is missing: install libonnx-testdata");
        var names = Cases().Select(c => (string)c.Arguments[0]!).ToList();
        foreach (var prefix in new[] { "node/test_lstm_", "node/test_gru_", "node/test_rnn_", "node/test_simple_rnn_" })
            Assert.That(names.Any(n => n.StartsWith(prefix, StringComparison.Ordinal)), prefix);
    }

    [TestCaseSource(nameof(Cases))]
    public void RecurrentConformance(string caseName) => OnnxConformanceTests.RunCase(caseName);
}
