using System.Device.Gpio;

namespace EdgeNets.Host.Output;

/// <summary>Digital outputs by pin number; the host drives them through this so tests need no GPIO chip.</summary>
public interface IPinOutput : IDisposable
{
    void OpenOutput(int pin);
    void Write(int pin, bool high);
}

/// <summary><see cref="IPinOutput"/> on the board's GPIO controller (logical/BCM pin numbers).</summary>
public sealed class GpioPinOutput : IPinOutput
{
    private readonly GpioController _controller;

    public GpioPinOutput(GpioController? controller = null) => _controller = controller ?? new GpioController();

    public void OpenOutput(int pin) => _controller.OpenPin(pin, PinMode.Output, PinValue.Low);
    public void Write(int pin, bool high) => _controller.Write(pin, high ? PinValue.High : PinValue.Low);
    public void Dispose() => _controller.Dispose();
}

/// <summary>
/// One GPIO pin per class: when a class event is reported its pin goes high and every other class pin goes low.
/// A pin number of -1 leaves that class without an output.
/// </summary>
public sealed class ClassPins : IDisposable
{
    private readonly IPinOutput _output;
    private readonly int[] _pins;
    private int _active = -1;

    public ClassPins(IPinOutput output, int[] pinPerClass)
    {
        _output = output;
        _pins = pinPerClass;
        foreach (int pin in _pins)
            if (pin >= 0) { _output.OpenOutput(pin); _output.Write(pin, false); }
    }

    public void Show(int cls)
    {
        if (cls == _active) return;
        if (_active >= 0 && _active < _pins.Length && _pins[_active] >= 0) _output.Write(_pins[_active], false);
        if (cls >= 0 && cls < _pins.Length && _pins[cls] >= 0) _output.Write(_pins[cls], true);
        _active = cls;
    }

    public void Dispose()
    {
        foreach (int pin in _pins)
            if (pin >= 0) _output.Write(pin, false);
        _output.Dispose();
    }
}
