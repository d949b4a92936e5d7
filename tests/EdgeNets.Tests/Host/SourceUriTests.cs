using EdgeNets.Host;
using EdgeNets.Host.Sources;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

public class SourceUriTests
{
    [Test]
    public void ParsesSchemePathAndTypedOptions()
    {
        var uri = SourceUri.Parse("camera:/dev/video0?width=160&height=120&fps=30&format=yuyv");
        Assert.Multiple(() =>
        {
            Assert.That(uri.Scheme, Is.EqualTo("camera"));
            Assert.That(uri.Path, Is.EqualTo("/dev/video0"));
            Assert.That(uri.GetInt("width", 0), Is.EqualTo(160));
            Assert.That(uri.GetInt("height", 0), Is.EqualTo(120));
            Assert.That(uri.GetString("format"), Is.EqualTo("yuyv"));
            Assert.That(uri.GetInt("buffers", 4), Is.EqualTo(4), "absent options take the default");
        });
        var imu = SourceUri.Parse("imu:mpu6050?bus=1&address=0x68&rate=50");
        Assert.That(imu.GetInt("address", 0), Is.EqualTo(0x68), "hex values");
        var csv = SourceUri.Parse("csv:data/walk.csv?columns=a,b,c&rate=50");
        Assert.That(csv.GetList("columns"), Is.EqualTo(new[] { "a", "b", "c" }));
        Assert.That(csv.GetDouble("rate", 0), Is.EqualTo(50.0));
        Assert.That(SourceUri.Parse("npy:C:x.npy").Path, Is.EqualTo("C:x.npy"), "only the first colon separates the scheme");
    }

    [TestCase("video0", "expected scheme:path")]
    [TestCase(":x", "expected scheme:path")]
    [TestCase("Camera:/dev/video0", "lower-case")]
    [TestCase("npy:", "missing path")]
    [TestCase("npy:?loop=true", "missing path")]
    [TestCase("npy:a.npy?", "empty query")]
    [TestCase("npy:a.npy?loop", "must be key=value")]
    [TestCase("npy:a.npy?=1", "must be key=value")]
    [TestCase("npy:a.npy?loop=", "empty value")]
    [TestCase("npy:a.npy?loop=1&loop=0", "given twice")]
    public void MalformedUrisFailWithAClearMessage(string text, string expected)
    {
        var e = Assert.Throws<SourceUriException>(() => SourceUri.Parse(text))!;
        Assert.That(e.Message, Does.Contain(expected).And.Contain(text));
    }

    [Test]
    public void RpicamNeedsNoPathForTheFirstCamera()
    {
        var uri = SourceUri.Parse("rpicam:?width=320&height=240");
        Assert.That((uri.Scheme, uri.Path, uri.GetInt("width", 0)), Is.EqualTo(("rpicam", "", 320)));
        Assert.That(SourceUri.Parse("rpicam:1").Path, Is.EqualTo("1"));
    }

    [Test]
    public void BadOptionValuesAndUnknownKeysFail()
    {
        var uri = SourceUri.Parse("camera:/dev/video0?width=wide&fps=0&colour=rgb&loop=maybe");
        Assert.That(Assert.Throws<SourceUriException>(() => uri.GetInt("width", 1))!.Message, Does.Contain("width=wide is not an integer"));
        Assert.That(Assert.Throws<SourceUriException>(() => uri.GetInt("fps", 30, 1, 1000))!.Message, Does.Contain("outside 1..1000"));
        Assert.That(Assert.Throws<SourceUriException>(() => uri.GetBool("loop", false))!.Message, Does.Contain("true or false"));
        var unknown = Assert.Throws<SourceUriException>(() => uri.RejectUnknownKeys("width", "height", "fps", "format", "loop"))!;
        Assert.That(unknown.Message, Does.Contain("unknown option 'colour'").And.Contain("accepted: width, height"));
    }

    [Test]
    public void FactoryRejectsUnknownSchemesAndOptions()
    {
        var e = Assert.Throws<SourceUriException>(() => SourceFactory.Create(SourceUri.Parse("webcam:/dev/video0"), TextWriter.Null))!;
        Assert.That(e.Message, Does.Contain("unknown scheme 'webcam'").And.Contain("camera"));
        string npy = HostTestModels.WriteTemp("x.npy", p => EdgeNets.Runtime.IO.NpyFile.WriteFloat32(p, [2, 3], new float[6]));
        var typo = Assert.Throws<SourceUriException>(() => SourceFactory.Create(SourceUri.Parse($"npy:{npy}?lop=true"), TextWriter.Null))!;
        Assert.That(typo.Message, Does.Contain("unknown option 'lop'"));
        var imu = Assert.Throws<SourceUriException>(() => SourceFactory.Create(SourceUri.Parse("imu:bmi160"), TextWriter.Null))!;
        Assert.That(imu.Message, Does.Contain("unknown IMU 'bmi160'"));
        var camera = Assert.Throws<SourceUriException>(() => SourceFactory.Create(SourceUri.Parse("camera:/dev/video0?format=mjpeg"), TextWriter.Null))!;
        Assert.That(camera.Message, Does.Contain("format=mjpeg"));
    }

    [Test]
    public void MissingCameraIsAnIoErrorNamingTheDevice()
    {
        var e = Assert.Throws<IOException>(() => new CameraSource(SourceUri.Parse("camera:/dev/edgenets-no-such-video")))!;
        Assert.That(e.Message, Does.Contain("/dev/edgenets-no-such-video"));
    }
}
